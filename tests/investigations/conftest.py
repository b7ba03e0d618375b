"""A small generated workspace (hosts table included) and a Flask app serving it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace
from web import create_app


@pytest.fixture(scope="session")
def inv_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws, _ = generated_workspace(tmp_path_factory.mktemp("inv"), 7, flows_per_day=1500, days=8)
    return ws


@pytest.fixture
def ws(inv_ws: Workspace) -> Any:
    """The shared workspace with no saved investigations (removed after each test)."""
    folder = Path(inv_ws.root) / "investigations"
    for p in folder.glob("*.json"):
        p.unlink()
    yield inv_ws
    for p in folder.glob("*.json"):
        p.unlink()


@pytest.fixture
def client(ws: Workspace) -> Any:
    return create_app(store=ws, settings={"GRAPHFLOW_RESPONSE_CACHE": 0}).test_client()
