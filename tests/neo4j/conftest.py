"""Neo4j fixtures: one real server per test session, a clean graph per test.

``NEO4J_URI`` (with ``NEO4J_USER``/``NEO4J_PASSWORD``) points the tests at a server you run;
its graph is wiped by the tests. Otherwise the session starts GraphFlow's launcher on a free
loopback port with a temporary home, waits for Bolt, and stops it at the end (or when the
test process dies: the launcher watches its stdin).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from graphflow.ingestion import ingest_files
from graphflow.neo4j_server import running_server
from graphflow.stores.neo4j import open_driver, resolve_target, wipe_graph
from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Bolt URI of a real Neo4j for this test session."""
    if os.environ.get("NEO4J_URI"):
        yield os.environ["NEO4J_URI"]
        return
    home = tmp_path_factory.mktemp("neo4j-home")
    with running_server(home, page_cache="256m", heap="1g") as uri:
        yield uri


@pytest.fixture(scope="session")
def neo4j_session_driver(neo4j_uri: str) -> Iterator[neo4j.Driver]:
    driver = open_driver(resolve_target(neo4j_uri))
    yield driver
    driver.close()


@pytest.fixture
def driver(neo4j_session_driver: neo4j.Driver) -> neo4j.Driver:
    """A driver on an empty graph (data wiped before each test; schema kept)."""
    wipe_graph(neo4j_session_driver)
    return neo4j_session_driver


@pytest.fixture
def tiny_ws(tmp_path: Path) -> Workspace:
    """A workspace holding the five hand-checkable flows of tests/conftest.py."""
    log = tmp_path / "conn.log"
    log.write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([log], ws)
    return ws


@pytest.fixture(scope="session")
def generated_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace from the synthetic generator: a few thousand edges over several days."""
    from graphflow.generate import GeneratorConfig, generate

    base = tmp_path_factory.mktemp("gen")
    generate(GeneratorConfig(seed=11, days=8, flows_per_day=1000), base / "data")
    ws = Workspace.open(base / "ws")
    ingest_files([base / "data" / "conn.log"], ws)
    return ws
