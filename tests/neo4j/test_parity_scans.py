"""The Cypher twins of the scan analyses give the same findings on Neo4j as the embedded ones:
same ids, order, entities, members, every figure (integers exactly) and evidence.

Each seed's generated workspace is built once (module fixture) and loaded once; the graph then
serves every test of that seed. The tests run on the defaults (every planted class must give
at least one finding) and on parameters that take the other code paths (directions, per-port
counting, other contact predicates, single rankings and group kinds, lowered thresholds).
A small hand-made workspace covers what the generator does not plant: IPv6 sources grouped
by prefix (the Cypher computes Python's ``ip_network`` strings itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import neo4j
import pytest

from graphflow.ingestion import ingest_files
from graphflow.stores.neo4j import load_workspace, run_cypher_file, wipe_graph
from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace, write_hosts
from tests.conftest import FLOWS, zeek_tsv
from tests.neo4j.parity import assert_parity

Loaded = tuple[neo4j.Driver, Workspace]


@pytest.fixture(scope="module", params=[42, 7])
def generated(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The generated workspace of seed 42 or 7, built once for the module."""
    seed = int(request.param)
    ws, _ = generated_workspace(tmp_path_factory.mktemp(f"scans-{seed}"), seed,
                                flows_per_day=2000, days=8)
    return ws


@pytest.fixture
def loaded(generated: Workspace, neo4j_session_driver: neo4j.Driver) -> Loaded:
    """The graph holds ``generated`` and nothing else: loaded once, and again only when
    another test replaced it (its load markers name the workspace they came from)."""
    driver = neo4j_session_driver
    marks = run_cypher_file(driver, "load_status")
    if not marks or {m["workspace"] for m in marks} != {str(generated.root)}:
        wipe_graph(driver)
        load_workspace(driver, generated, force=True)
    return driver, generated


def test_fanout_scanners_parity(loaded: Loaded) -> None:
    assert_parity(*loaded, "fanout_scanners")


def test_top_scanners_parity(loaded: Loaded) -> None:
    found = assert_parity(*loaded, "top_scanners")
    assert {f.figures["ranking"] for f in found} == {"widest", "scanned", "active"}


def test_low_and_slow_parity(loaded: Loaded) -> None:
    assert_parity(*loaded, "low_and_slow")


def test_coordinated_scanners_parity(loaded: Loaded) -> None:
    assert_parity(*loaded, "coordinated_scanners")


def test_scanner_got_in_parity(loaded: Loaded) -> None:
    assert_parity(*loaded, "scanner_got_in")


def test_vertical_scans_parity(loaded: Loaded) -> None:
    assert_parity(*loaded, "vertical_scans")


@pytest.mark.parametrize(("name", "params"), [
    ("fanout_scanners", {"direction": "both"}),
    ("fanout_scanners", {"per_port": True}),
    ("fanout_scanners", {"count": "low", "min_peers": 30}),
    ("fanout_scanners", {"count": "all", "min_peers": 40, "direction": "both",
                         "per_port": True}),
    ("fanout_scanners", {"count": "all", "min_peers": 20, "min_share": 0.5}),
    ("top_scanners", {"ranking": "active", "top_n": 3}),
    ("top_scanners", {"ranking": "scanned", "max_pkts": 6, "max_bytes": 400}),
    ("low_and_slow", {"min_days": 1, "min_hosts": 2, "fanout_min_peers": 20,
                      "vertical_min_ports": 5}),
    ("coordinated_scanners", {"min_members": 1, "min_hosts": 1}),
    ("coordinated_scanners", {"min_members": 2, "min_hosts": 2, "group_by": "prefix",
                              "prefix_v4": 13}),
    ("coordinated_scanners", {"min_members": 1, "min_hosts": 1, "group_by": "domain",
                              "syn_only_min_ratio": 0.2, "vertical_min_ports": 4}),
    ("scanner_got_in", {"min_probed": 1, "max_pkts": 100, "max_bytes": 100000}),
    ("vertical_scans", {"count": "all", "min_ports": 5}),
    ("vertical_scans", {"count": "failed", "min_ports": 3}),
], ids=lambda v: v if isinstance(v, str) else json.dumps(v, sort_keys=True))
def test_parity_other_params(loaded: Loaded, name: str, params: dict[str, Any]) -> None:
    assert_parity(*loaded, name, params)


def test_unknown_choice_finds_nothing(loaded: Loaded) -> None:
    """An unknown choice is an error on the embedded side (ConfigError) and selects nothing
    in Cypher; it never gives other findings."""
    from graphflow.analyses.neo4j_backend import run_analysis_neo4j

    driver, _ = loaded
    for name, params in [("fanout_scanners", {"count": "some"}),
                         ("fanout_scanners", {"direction": "in"}),
                         ("top_scanners", {"ranking": "loudest"}),
                         ("coordinated_scanners", {"group_by": "city"}),
                         ("vertical_scans", {"count": "some"})]:
        assert run_analysis_neo4j(driver, name, params) == [], (name, params)


#: External IPv6 (and IPv4) sources in every written form the prefix code must read: '::'
#: at the start, middle and end, no '::', leading zeros, upper case, a dotted IPv4 tail, and
#: zero runs that tie or compete for the '::' of the compressed form.
_SOURCES = ["2001:db8:0:1::7", "2001:db8:0:1:0:0:0:8", "2001:DB8:0:2::9", "::ffff:198.51.7.1",
            "2001:db8::", "fe80::1:0:0:2", "2001:0db8:0000:0003:0000:0000:0001:0000",
            "::5", "2001:db8:1:0:0:1:0:1", "2001:db8:0:0:1:0:0:1", "203.0.113.9",
            "203.0.113.200", "198.18.7.1"]
_OWN = ["10.10.0.11", "10.10.0.12", "10.10.0.13", "2001:db8:ffff::11"]


def _probe_rows() -> list[dict[str, str]]:
    template = FLOWS[1]  # an unanswered (S0) probe
    rows = []
    for i, src in enumerate(_SOURCES):
        for j, dst in enumerate(_OWN[: 1 + i % len(_OWN)]):
            n = i * len(_OWN) + j
            rows.append({**template, "ts": f"{1772438460 + 60 * n}.{n:06d}",
                         "uid": f"CPROBE{n:012d}", "id.orig_h": src, "id.resp_h": dst,
                         "id.resp_p": str(22 + j)})
    return rows


@pytest.fixture
def ipv6_ws(tmp_path: Path) -> Workspace:
    log = tmp_path / "conn.log"
    log.write_text(zeek_tsv(_probe_rows()))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([log], ws)
    side = tmp_path / "side"
    side.mkdir()
    (side / "assets.json").write_text(json.dumps(
        {"own_networks": ["10.10.0.0/16", "2001:db8:ffff::/48"], "assets": []}))
    (side / "whitelist.txt").write_text("# none\n")
    (side / "names.csv").write_text("ip,name\n" + "".join(
        f"{ip},probe{i}.example{i % 3}.net\n" for i, ip in enumerate(_SOURCES)))
    write_hosts(ws, side)
    return ws


def test_coordinated_prefix_groups_ipv6(driver: neo4j.Driver, ipv6_ws: Workspace) -> None:
    """Prefix groups of IPv6 sources written in every form, at several prefix lengths: the
    group strings (entities), members and figures are Python's on Neo4j too."""
    load_workspace(driver, ipv6_ws, force=True)
    for prefix_v4, prefix_v6 in [(24, 64), (32, 128), (0, 0), (13, 17), (8, 48), (30, 100)]:
        params = {"min_members": 1, "min_hosts": 1, "group_by": "all",
                  "prefix_v4": prefix_v4, "prefix_v6": prefix_v6}
        found = assert_parity(driver, ipv6_ws, "coordinated_scanners", params)
        assert {f.figures["group_by"] for f in found} == {"prefix", "domain"}, params
        assert any(":" in f.entity for f in found), params
