"""The Cypher twins of the host-centred analyses (ingress_peaks, hva_neighbourhood,
policy_violations, top_talkers, low_traffic) give the embedded findings on Neo4j: same ids,
order, entities, members, figures and evidence, on two generated scenarios."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import neo4j
import pytest

from graphflow.stores.neo4j import load_workspace, wipe_graph
from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace
from tests.neo4j.parity import assert_parity
from tests.policy_inventory import POLICY_INVENTORY


@pytest.fixture(scope="module", params=[42, 7])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           neo4j_session_driver: neo4j.Driver) -> Iterator[tuple[neo4j.Driver, Workspace]]:
    """A generated workspace (8 days, 2000 flows a day), loaded into a wiped Neo4j."""
    root = tmp_path_factory.mktemp(f"hosts-{request.param}")
    ws, _ = generated_workspace(root, request.param, flows_per_day=2000, days=8)
    wipe_graph(neo4j_session_driver)
    load_workspace(neo4j_session_driver, ws, force=True)
    yield neo4j_session_driver, ws
    wipe_graph(neo4j_session_driver)


def _ready(loaded: tuple[neo4j.Driver, Workspace]) -> tuple[neo4j.Driver, Workspace]:
    """The loaded graph, loaded again if another test wiped it (a no-op otherwise: every
    part's load marker matches)."""
    driver, ws = loaded
    load_workspace(driver, ws)
    return driver, ws


def test_top_talkers_parity(loaded: tuple[neo4j.Driver, Workspace]) -> None:
    driver, ws = _ready(loaded)
    assert_parity(driver, ws, "top_talkers")
    assert_parity(driver, ws, "top_talkers", {"ranking": "bytes_in", "top_n": 3,
                                              "window_days": 3})


def test_low_traffic_parity(loaded: tuple[neo4j.Driver, Workspace]) -> None:
    driver, ws = _ready(loaded)
    assert_parity(driver, ws, "low_traffic")
    assert_parity(driver, ws, "low_traffic", {"order": "day", "max_pkts": 10})


def test_ingress_peaks_parity(loaded: tuple[neo4j.Driver, Workspace]) -> None:
    driver, ws = _ready(loaded)
    assert_parity(driver, ws, "ingress_peaks")
    assert_parity(driver, ws, "ingress_peaks", {"factor": 1.2, "top_n": 2})


def test_hva_neighbourhood_parity(loaded: tuple[neo4j.Driver, Workspace]) -> None:
    driver, ws = _ready(loaded)
    assert_parity(driver, ws, "hva_neighbourhood")
    assert_parity(driver, ws, "hva_neighbourhood", {"window": 5})


def test_policy_violations_parity(loaded: tuple[neo4j.Driver, Workspace]) -> None:
    driver, ws = _ready(loaded)
    found = assert_parity(driver, ws, "policy_violations")
    assert {"outbound", "inbound", "non_routable", "outside_ranges"} <= {
        f.figures["kind"] for f in found}


_COUNTRIES = {"5.5.5.1": "DE", "5.5.5.2": "KP", "5.5.5.3": "BR"}
#: (src, dst, proto, port, state): every rule kind, and peers given as set, asset, CIDR.
_FLOWS = [
    ("10.2.0.5", "10.2.0.50", "tcp", 5432, "SF"),     # set:app-tier: allowed
    ("10.1.0.7", "10.2.0.50", "tcp", 5432, "SF"),     # inbound (a workstation)
    ("10.2.0.5", "10.2.0.51", "tcp", 5432, "SF"),     # asset:app1: allowed
    ("10.2.0.6", "10.2.0.51", "tcp", 1521, "SF"),     # CIDR peer, no role: allowed
    ("10.2.0.5", "10.2.0.51", "tcp", 1521, "SF"),     # outbound (app may not)
    ("10.2.0.5", "10.2.0.51", "tcp", 22, "SF"),       # outbound and inbound
    ("10.2.0.80", "5.5.5.1", "tcp", 443, "SF"),       # allowed country
    ("10.2.0.80", "5.5.5.2", "tcp", 443, "SF"),       # country_outbound (denied)
    ("10.2.0.80", "5.5.5.3", "tcp", 443, "SF"),       # country_outbound (not allowed)
    ("10.2.0.80", "5.5.5.9", "udp", 53, "SF"),        # defaults: allowed
    ("10.2.0.80", "5.5.5.9", "tcp", 25, "SF"),        # outbound
    ("10.2.0.80", "5.5.5.9", "tcp", 25, "S0"),        # unanswered: not a port violation
    ("10.2.0.80", "5.5.5.1", "icmp", 8, "SF"),        # outbound (icmp)
    ("5.5.5.3", "10.2.0.50", "tcp", 5432, "SF"),      # inbound and country_inbound
    ("5.5.5.1", "10.2.0.5", "tcp", 443, "SF"),        # country_inbound: empty allow list
    ("10.1.0.7", "192.168.1.1", "tcp", 80, "SF"),     # non_routable
    ("192.168.1.1", "10.1.0.8", "tcp", 80, "S0"),     # non_routable, inbound side
    ("10.3.0.1", "8.8.8.8", "udp", 53, "SF"),         # outside_ranges
    ("2001:db8::5", "2001:db8::53", "udp", 53, "SF"),  # outside_ranges, both ends
    ("8.8.8.8", "1.1.1.1", "tcp", 80, "SF"),          # not ours
]


@pytest.fixture(scope="module")
def policy_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A hand-made workspace whose inventory uses set, asset, CIDR and country rules, with
    peer countries in the hosts table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from graphflow.hosts import enrich, read_hosts
    from graphflow.ingestion import ingest_files
    from tests.conftest import zeek_tsv

    root = tmp_path_factory.mktemp("policy")
    rows = []
    for i, (src, dst, proto, port, state) in enumerate(_FLOWS * 2):
        ok = state == "SF"
        rows.append({
            "ts": f"{1772438400 + 7 * i}.000000", "uid": f"CPOL{i:014d}", "id.orig_h": src,
            "id.orig_p": "40000", "id.resp_h": dst, "id.resp_p": str(port), "proto": proto,
            "service": "-", "duration": "0.5", "orig_bytes": "300", "resp_bytes":
            "900" if ok else "0", "conn_state": state, "local_orig": "-", "local_resp": "-",
            "missed_bytes": "0", "history": "ShADadFf" if ok else "S", "orig_pkts": "4",
            "orig_ip_bytes": "500", "resp_pkts": "4" if ok else "0",
            "resp_ip_bytes": "1100" if ok else "0", "tunnel_parents": "(empty)"})
    (root / "conn.log").write_text(zeek_tsv(rows))
    (root / "inventory.yaml").write_text(POLICY_INVENTORY)
    ws = Workspace.open(root / "ws")
    ingest_files([root / "conn.log"], ws)
    enrich(ws, assets=str(root / "inventory.yaml"), default_city_db=False)
    hosts = read_hosts(ws).to_pylist()
    for h in hosts:
        h["country"] = _COUNTRIES.get(h["ip"], h["country"])
    tmp = root / "hosts.parquet"
    pq.write_table(pa.Table.from_pylist(hosts, schema=read_hosts(ws).schema), tmp)
    old = {p.name for p in (ws.version_dir / "hosts").glob("*.parquet")}
    ws.commit(add={"hosts": [(tmp, "hosts.parquet")]}, drop={"hosts": old}, ledger=ws.ledger())
    return ws


def test_policy_violations_match_the_policy_engine(policy_ws: Workspace) -> None:
    """The set-based check finds exactly what PolicyEngine.check finds, flow key by key."""
    from graphflow.analyses import run_analysis
    from graphflow.assets import load_inventory
    from graphflow.db import connect

    inv = load_inventory(policy_ws)
    assert inv is not None
    engine = inv.policy_engine(country_of=_COUNTRIES.get)
    con = connect(policy_ws)
    keys = con.execute("SELECT src_ip, dst_ip, proto, dst_port, sum(flows - failed_flows), "
                       "sum(failed_flows) FROM edges GROUP BY ALL").fetchall()
    con.close()
    want: dict[tuple[str, str], dict[str, Any]] = {}
    for src, dst, proto, port, answered, failed in keys:
        for est, n in ((True, answered), (False, failed)):
            for v in engine.check(src, dst, proto, port, established=est) if n else []:
                w = want.setdefault((v.kind, v.host), {"flows": 0, "peers": set(),
                                                       "rules": set()})
                w["flows"] += n
                w["peers"].add(v.peer)
                w["rules"].add(v.rule)
    got = {(f.figures["kind"], f.entity): f for f in run_analysis(policy_ws, "policy_violations")}
    assert set(got) == set(want)
    assert {k for k, _ in want} == {"outbound", "inbound", "country_outbound",
                                    "country_inbound", "non_routable", "outside_ranges"}
    for k, w in want.items():
        f = got[k]
        assert f.figures["flows"] == w["flows"], k
        assert set(f.figures["peers"]) == w["peers"], k
        assert f.figures["rule"] == min(w["rules"]), k


def test_policy_violations_parity_on_country_and_set_rules(
        driver: neo4j.Driver, policy_ws: Workspace) -> None:
    load_workspace(driver, policy_ws, force=True)
    try:
        found = assert_parity(driver, policy_ws, "policy_violations", min_findings=8)
        assert "country_inbound" in {f.figures["kind"] for f in found}
    finally:
        wipe_graph(driver)
