"""One generated workspace (with a hosts table) for the SQL tests, built once per session."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace


@pytest.fixture(scope="session")
def sql_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Any]:
    return generated_workspace(tmp_path_factory.mktemp("sql"), 42)
