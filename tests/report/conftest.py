"""Generated workspaces for the report tests (session-scoped: generation is the slow part)."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow.workspace import Workspace
from tests.report.helpers import generated_with_countries

#: Two seeds: the sections must hold exactly the planted positives on both.
SEEDS = (42, 7)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Workspace, Any]]:
    """14 days (the ground truth's "new peers" are those of the second week)."""
    root = tmp_path_factory.mktemp("report")
    return {seed: generated_with_countries(root, seed, days=14) for seed in SEEDS}
