"""A generated 15-day workspace for the plot tests (session-scoped)."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow.workspace import Workspace
from tests.report.helpers import generated_with_countries


@pytest.fixture(scope="session")
def gen15(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Any]:
    return generated_with_countries(tmp_path_factory.mktemp("plots"), 42, days=15)
