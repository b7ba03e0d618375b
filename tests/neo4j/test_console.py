"""The read-only Cypher console: reads work within limits; every kind of write is refused."""

from __future__ import annotations

import json

import neo4j
import pytest
from click.testing import CliRunner

from graphflow.cli import main
from graphflow.errors import GraphFlowError
from graphflow.stores.neo4j import graph_counts, load_workspace
from graphflow.stores.neo4j_console import WriteRefused, check_read_only, run_read_only
from graphflow.workspace import Workspace

WRITES = {
    "create": "CREATE (n:Evil {x: 1})",
    "mixed case": "mAtCh (h:Host) cReAtE (h)-[:OWNS]->(:Evil)",
    "merge after comment": "// just looking\n/* really */ MERGE (n:Evil {x: 1})",
    "set": "MATCH (h:Host) SET h.pwned = true",
    "delete": "MATCH ()-[r:FLOW]->() DELETE r",
    "detach delete": "MATCH (h:Host) DETACH DELETE h",
    "remove": "MATCH (h:Host) REMOVE h.ip",
    "foreach": "MATCH (h:Host) WITH collect(h) AS hs FOREACH (x IN hs | SET x.y = 1)",
    "load csv": "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "in transactions": "MATCH (h:Host) CALL (h) { SET h.z = 1 } IN TRANSACTIONS OF 10 ROWS",
    "in transactions, no write": "UNWIND [1] AS x CALL (x) { RETURN x AS y } IN TRANSACTIONS "
                                 "RETURN y",
    "writing procedure": "CALL db.createLabel('Evil')",
}
#: The writes the server itself must refuse in a READ transaction (pre-check switched off).
SERVER_REFUSES = ("create", "mixed case", "merge after comment", "set", "delete",
                  "detach delete", "remove", "foreach", "in transactions",
                  "writing procedure")


@pytest.fixture
def loaded(driver: neo4j.Driver, tiny_ws: Workspace) -> neo4j.Driver:
    load_workspace(driver, tiny_ws)
    return driver


def _labels(driver: neo4j.Driver) -> list[str]:
    recs, _, _ = driver.execute_query("CALL db.labels() YIELD label RETURN collect(label) AS l")
    return sorted(recs[0]["l"])


@pytest.mark.parametrize("name", sorted(WRITES))
def test_writes_refused(loaded: neo4j.Driver, name: str) -> None:
    before, labels = graph_counts(loaded), _labels(loaded)
    with pytest.raises(WriteRefused, match="read-only"):
        run_read_only(loaded, WRITES[name])
    if name in SERVER_REFUSES:  # the real guard: READ access mode on the server
        with pytest.raises(WriteRefused, match="read-only"):
            run_read_only(loaded, WRITES[name], precheck=False)
    assert graph_counts(loaded) == before and _labels(loaded) == labels


@pytest.mark.parametrize("query", [
    "MATCH (h:Host) WHERE h.ip = 'CREATE' RETURN h.ip",
    "MATCH (h:Host) RETURN h.ip AS `set` // DELETE everything",
    "MATCH (h:Host) RETURN h.ip, h.name AS created, $merge AS p",
    "MATCH (h:Create) RETURN h",
])
def test_reads_that_look_like_writes_pass(query: str) -> None:
    check_read_only(query)


def test_rows_limit_and_types(loaded: neo4j.Driver) -> None:
    res = run_read_only(loaded, "MATCH (s:Host)-[r:FLOW]->(d:Host) RETURN s.ip AS src, r.day "
                        "AS day, r.flows AS flows ORDER BY src, day", limit=3)
    assert res.columns == ["src", "day", "flows"] and len(res.rows) == 3 and res.truncated
    assert str(res.rows[0]["day"]) == "2026-03-02"
    full = run_read_only(loaded, "MATCH (h:Host) RETURN h ORDER BY h.ip", limit=0)
    assert len(full.rows) == 7 and not full.truncated
    assert full.rows[0]["h"]["labels"] == ["Host"]


def test_time_limit(loaded: neo4j.Driver) -> None:
    with pytest.raises(GraphFlowError, match="time limit"):
        run_read_only(loaded, "UNWIND range(1, 1000000000) AS x WITH x WHERE x % 7 = 3 "
                      "RETURN count(x)", timeout=0.5)


def test_cli(loaded: neo4j.Driver, neo4j_uri: str) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["cypher", "--neo4j", neo4j_uri, "--json", "-p", "port=23",
                               "MATCH ()-[r:FLOW]->(d) WHERE r.dst_port = $port "
                               "RETURN d.ip AS ip ORDER BY ip"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["ip"] for r in doc["rows"]] == ["10.10.0.10", "10.10.0.11"]
    res = runner.invoke(main, ["cypher", "--neo4j", neo4j_uri, "cReAtE (n:Evil)"])
    assert res.exit_code == 1
    assert "read-only: CREATE is a write clause" in res.stderr
    res = runner.invoke(main, ["cypher", "--neo4j", neo4j_uri, "MATCH (n) RETURN n LIMIT 2"])
    assert res.exit_code == 0 and "2 row(s)" in res.stdout
