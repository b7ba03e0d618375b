"""The bulk path (neo4j-admin import) builds the same graph as the batched path."""

from __future__ import annotations

from pathlib import Path

import neo4j

from graphflow.neo4j_server import running_server
from graphflow.stores.neo4j import graph_counts, load_workspace, open_driver, resolve_target
from graphflow.stores.neo4j_bulk import bulk_import, finish_bulk_load
from graphflow.workspace import Workspace
from tests.neo4j.test_load import _hosts_table, embedded_counts

SAMPLE = ("MATCH (s:Host)-[r:FLOW]->(d:Host) RETURN s.ip AS s, d.ip AS d, properties(r) AS r "
          "ORDER BY r.key")
HOSTS = "MATCH (h:Host) RETURN properties(h) AS h ORDER BY h.ip"


def test_bulk_equals_batched(driver: neo4j.Driver, tiny_ws: Workspace, tmp_path: Path) -> None:
    _hosts_table(tiny_ws, [{"ip": "10.10.0.10", "own": True, "hva": True, "role": "db",
                            "asn": 64500, "dns": ["db1.corp.example", "db, \"quoted\""]}])
    load_workspace(driver, tiny_ws)
    batched_rels, _, _ = driver.execute_query(SAMPLE)
    batched_hosts, _, _ = driver.execute_query(HOSTS)

    home = tmp_path / "bulk-home"
    report = bulk_import(tiny_ws, home, heap="512m")
    assert (report.hosts, report.relationships) == (7, 5)
    with running_server(home, page_cache="64m", heap="512m") as uri:
        bulk = open_driver(resolve_target(uri, env={}))
        try:
            finish_bulk_load(bulk, tiny_ws)
            assert graph_counts(bulk) == embedded_counts(tiny_ws)
            rels, _, _ = bulk.execute_query(SAMPLE)
            hosts, _, _ = bulk.execute_query(HOSTS)
            assert [r.data() for r in rels] == [r.data() for r in batched_rels]
            assert [r.data() for r in hosts] == [r.data() for r in batched_hosts]
            # the markers make a later batched load write nothing
            again = load_workspace(bulk, tiny_ws)
            assert again.parts_loaded == [] and again.relationships == 0
        finally:
            bulk.close()
