"""Every registered analysis, on Neo4j through its Cypher twin, gives the embedded findings:
on a generated scenario of over 100k flows covering every planted class (two seeds; at least
one finding per analysis) and on the shared real datasets. Also: the registry and the Cypher
files correspond one to one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

import cypher
from graphflow.analyses import REGISTRY
from graphflow.db import connect
from graphflow.ingestion import ingest_files
from graphflow.stores.neo4j import load_workspace, wipe_graph
from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace
from tests.conftest import DATASETS
from tests.neo4j.parity import assert_parity

#: Cypher files that are not analyses: the model, the load path, lookups.
NOT_ANALYSES = {"schema", "hosts_by_ip"}


def test_every_analysis_has_its_cypher_file_and_every_file_an_analysis() -> None:
    files = {p.stem for p in Path(cypher.__file__).parent.glob("*.cypher")}
    queries = {f for f in files if f not in NOT_ANALYSES and not f.startswith("load_")}
    assert {a.cypher for a in REGISTRY.values()} == {f"{n}.cypher" for n in REGISTRY}
    assert queries == set(REGISTRY)


@pytest.fixture(scope="module", params=[42, 7])
def big(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        neo4j_session_driver: neo4j.Driver) -> Iterator[tuple[neo4j.Driver, Workspace]]:
    """A generated scenario of > 100k flows, loaded into a wiped Neo4j."""
    root = tmp_path_factory.mktemp(f"parity-{request.param}")
    ws, _ = generated_workspace(root, request.param, flows_per_day=9000, days=14)
    con = connect(ws)
    assert con.execute("SELECT count(*) FROM flows").fetchone()[0] >= 100_000
    con.close()
    wipe_graph(neo4j_session_driver)
    load_workspace(neo4j_session_driver, ws, force=True)
    yield neo4j_session_driver, ws
    wipe_graph(neo4j_session_driver)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_parity_generated(big: tuple[neo4j.Driver, Workspace], name: str) -> None:
    driver, ws = big
    assert_parity(driver, ws, name, min_findings=1)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory,
         neo4j_session_driver: neo4j.Driver) -> Iterator[tuple[neo4j.Driver, Workspace]]:
    """Every Zeek and Argus file of the shared datasets in one workspace, loaded."""
    if not DATASETS.exists():
        pytest.skip("shared datasets not present")
    ws = Workspace.open(tmp_path_factory.mktemp("real") / "ws")
    files = sorted((DATASETS / "zeek").glob("*")) + sorted((DATASETS / "argus").glob("*"))
    report = ingest_files([f for f in files if f.is_file()], ws)
    assert report.loaded > 0
    wipe_graph(neo4j_session_driver)
    load_workspace(neo4j_session_driver, ws, force=True)
    yield neo4j_session_driver, ws
    wipe_graph(neo4j_session_driver)


#: parameters that make the small real captures produce findings for the scan analyses
REAL_PARAMS: dict[str, dict[str, Any]] = {
    "fanout_scanners": {"min_peers": 25, "count": "all"},
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_parity_real_datasets(real: tuple[neo4j.Driver, Workspace], name: str) -> None:
    driver, ws = real
    assert_parity(driver, ws, name, REAL_PARAMS.get(name), min_findings=0)
