"""Generated workspaces with a hosts table, one per seed (module-scoped: generation is the
slow part)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace

SEEDS = (42, 7, 2026)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Workspace, Any]]:
    root: Path = tmp_path_factory.mktemp("analyses")
    return {seed: generated_workspace(root, seed) for seed in SEEDS}


@pytest.fixture(scope="session")
def generated_large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Any]:
    """A busier network (about 10x the background): rates, not counts, must hold."""
    return generated_workspace(tmp_path_factory.mktemp("analyses-large"), 11,
                               flows_per_day=30_000)
