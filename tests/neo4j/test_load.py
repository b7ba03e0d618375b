"""The batched load: exact properties, idempotent reloads, load markers, hosts table."""

from __future__ import annotations

import datetime as dt

import neo4j
import pyarrow as pa
import pyarrow.parquet as pq

from graphflow.schema import HOST_SCHEMA
from graphflow.stores.base import GraphCounts, workspace_counts
from graphflow.stores.neo4j import graph_counts, ip_key, load_workspace, write_ip_set
from graphflow.workspace import Workspace


def embedded_counts(ws: Workspace) -> GraphCounts:
    """The same figures computed by DuckDB over the workspace's edges."""
    return workspace_counts(ws)


def test_tiny_load_is_exact(driver: neo4j.Driver, tiny_ws: Workspace) -> None:
    seen: list[tuple[int, int]] = []
    report = load_workspace(driver, tiny_ws, progress=lambda d, t: seen.append((d, t)))
    assert report.relationships == 5 and report.hosts == 7
    assert seen[-1] == (12, 12)  # 7 hosts + 5 relationships
    assert graph_counts(driver) == embedded_counts(tiny_ws)
    recs, _, _ = driver.execute_query(
        "MATCH (s:Host {ip: '203.0.113.7'})-[r:FLOW]->(d:Host {ip: '10.10.0.10'}) "
        "RETURN r {.*} AS r")
    r = recs[0]["r"]
    assert r["key"] == "2026-03-02|203.0.113.7|10.10.0.10|23|tcp"
    assert r["day"].to_native() == dt.date(2026, 3, 2)
    assert r["dst_port"] == 23 and r["proto"] == "tcp"
    assert (r["flows"], r["s0_flows"], r["rej_flows"], r["syn_only_flows"]) == (1, 1, 0, 1)
    assert (r["src_bytes"], r["dst_bytes"], r["src_pkts"], r["dst_pkts"]) == (44, 0, 1, 0)
    first = r["first_seen"].to_native()
    assert first == dt.datetime(2026, 3, 2, 8, 1, 0, 250000, tzinfo=dt.UTC)
    assert r["last_seen"].to_native() == first  # no duration
    # microseconds survive the trip
    recs, _, _ = driver.execute_query(
        "MATCH ()-[r:FLOW {dst_port: 22}]->() RETURN r.first_seen AS f, r.last_seen AS l")
    assert recs[0]["f"].to_native() == dt.datetime(2026, 3, 2, 8, 0, 0, 1, tzinfo=dt.UTC)
    assert recs[0]["l"].to_native() == dt.datetime(2026, 3, 2, 8, 0, 1, 500001, tzinfo=dt.UTC)


def test_reload_changes_nothing(driver: neo4j.Driver, generated_ws: Workspace) -> None:
    first = load_workspace(driver, generated_ws, batch_size=1000)
    after_one = graph_counts(driver)
    assert after_one == embedded_counts(generated_ws)
    assert first.relationships == after_one.edges
    # the markers skip every part
    again = load_workspace(driver, generated_ws, batch_size=1000)
    assert again.relationships == 0 and again.parts_loaded == []
    assert len(again.parts_skipped) == len(first.parts_loaded)
    # and a forced rewrite of everything (another batch size) converges to the same graph
    forced = load_workspace(driver, generated_ws, batch_size=777, force=True)
    assert forced.relationships == first.relationships
    assert graph_counts(driver) == after_one


def test_new_flows_reload_only_their_day(driver: neo4j.Driver, tiny_ws: Workspace,
                                         tmp_path) -> None:
    from graphflow.ingestion import ingest_files
    from tests.conftest import FLOWS, zeek_tsv

    load_workspace(driver, tiny_ws)
    extra = dict(FLOWS[1], uid="CNEWNEWNEWNEWNEW01", **{"id.orig_p": "40009"})
    log = tmp_path / "more.log"
    log.write_text(zeek_tsv([extra]))
    ingest_files([log], tiny_ws)
    report = load_workspace(driver, tiny_ws)
    assert "edges/2026-03-02" in report.parts_loaded
    assert "edges/2026-03-03" in report.parts_skipped
    assert graph_counts(driver) == embedded_counts(tiny_ws)
    recs, _, _ = driver.execute_query(
        "MATCH (:Host {ip: '203.0.113.7'})-[r:FLOW {dst_port: 23}]->(:Host {ip: '10.10.0.10'}) "
        "RETURN r.flows AS flows, r.s0_flows AS s0")
    assert (recs[0]["flows"], recs[0]["s0"]) == (2, 2)


def _hosts_table(ws: Workspace, rows: list[dict[str, object]]) -> None:
    base = ws.root / "hosts"
    base.mkdir(exist_ok=True)
    full = [{f.name: r.get(f.name) for f in HOST_SCHEMA} for r in rows]
    for r in full:
        r["ip_version"] = r["ip_version"] or 4
        for b in ("own", "hva", "whitelisted"):
            r[b] = bool(r[b])
        r["address_class"] = r["address_class"] or "private"
    pq.write_table(pa.Table.from_pylist(full, schema=HOST_SCHEMA), base / "hosts.parquet")


def test_hosts_table_attributes(driver: neo4j.Driver, tiny_ws: Workspace) -> None:
    _hosts_table(tiny_ws, [
        {"ip": "10.10.0.10", "ip_version": 4, "own": True, "hva": True, "role": "db",
         "name": "db1", "asn": 64500, "dns": ["db1.corp.example", "db.corp.example"],
         "country": "FR"},
        {"ip": "198.51.100.9", "ip_version": 4, "address_class": "documentation"},
    ])
    load_workspace(driver, tiny_ws)
    recs, _, _ = driver.execute_query("MATCH (h:Host {ip: '10.10.0.10'}) RETURN h {.*} AS h")
    h = recs[0]["h"]
    assert (h["own"], h["hva"], h["role"], h["name"], h["asn"]) == (True, True, "db", "db1",
                                                                   64500)
    assert h["dns"] == ["db1.corp.example", "db.corp.example"] and h["country"] == "FR"
    assert "city" not in h  # null attributes are absent properties
    # a host of the table that no edge touches is still a node; edge-only hosts have ip only
    assert graph_counts(driver).hosts == 8
    recs, _, _ = driver.execute_query("MATCH (h:Host {ip: '10.10.1.5'}) RETURN h {.*} AS h")
    # (plus the derived sort key every Host has)
    assert recs[0]["h"] == {"ip": "10.10.1.5", "ip_key": ip_key("10.10.1.5")}
    # enrichment changes: the new table replaces the attributes (stale ones removed)
    _hosts_table(tiny_ws, [{"ip": "10.10.0.10", "own": True, "role": "web"}])
    report = load_workspace(driver, tiny_ws)
    assert report.parts_loaded == ["hosts"]  # edges unchanged: skipped
    recs, _, _ = driver.execute_query("MATCH (h:Host {ip: '10.10.0.10'}) RETURN h {.*} AS h")
    h = recs[0]["h"]
    assert (h["role"], h["hva"]) == ("web", False) and "dns" not in h and "asn" not in h


def test_ip_set_hook(driver: neo4j.Driver, tiny_ws: Workspace) -> None:
    load_workspace(driver, tiny_ws)
    assert write_ip_set(driver, "scanners", ["203.0.113.7", "192.0.2.99"]) == 1
    assert write_ip_set(driver, "scanners", ["203.0.113.7"]) == 1  # replaced, not added
    recs, _, _ = driver.execute_query(
        "MATCH (h:Host)-[:IN_SET]->(:IpSet {name: $set}) RETURN collect(h.ip) AS ips",
        set="scanners")
    assert recs[0]["ips"] == ["203.0.113.7"]


def test_cli_load_json(driver: neo4j.Driver, neo4j_uri: str, tiny_ws: Workspace) -> None:
    import json

    from click.testing import CliRunner

    from graphflow.cli import main

    args = ["load", "--neo4j", neo4j_uri, "--workspace", str(tiny_ws.root), "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # exactly one document on stdout
    assert (doc["hosts"], doc["relationships"]) == (7, 5)
    assert doc["graph"] == embedded_counts(tiny_ws).to_dict()
    again = json.loads(CliRunner().invoke(main, args).stdout)
    assert again["relationships"] == 0 and len(again["parts_skipped"]) == 3


def test_named_sets_become_ipset_nodes(driver: neo4j.Driver, tiny_ws: Workspace) -> None:
    """Every named set of the workspace (``graphflow sets list``) is an (:IpSet) with its
    member hosts after a load; a changed or deleted set is reflected by the next load."""
    import ipaddress

    from graphflow.ipsets import IPSet, delete_set, list_sets, save_set

    save_set(tiny_ws, "watch", IPSet(["203.0.113.0/24"]))
    ws = Workspace.open(tiny_ws.root, create=False)
    report = load_workspace(driver, ws)
    assert report.ip_sets["watch"] == 1

    def members(name: str) -> list[str]:
        recs, _, _ = driver.execute_query(
            "MATCH (h:Host)-[:IN_SET]->(:IpSet {name: $set}) RETURN h.ip AS ip ORDER BY ip",
            set=name)
        return [r["ip"] for r in recs]

    assert members("watch") == ["203.0.113.7"]
    recs, _, _ = driver.execute_query("MATCH (s:IpSet) RETURN s.name AS name")
    assert {r["name"] for r in recs} == {i.name for i in list_sets(ws)}
    hosts, _, _ = driver.execute_query("MATCH (h:Host) RETURN h.ip AS ip")
    own_nets = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                   "192.168.0.0/16", "fc00::/7")]
    private = sorted(r["ip"] for r in hosts
                     if any(ipaddress.ip_address(r["ip"]) in n for n in own_nets))
    assert members("own") == private and private  # no inventory: RFC 1918 and ULA are own

    save_set(ws, "watch", IPSet(["10.10.0.0/16"]))
    ws = Workspace.open(tiny_ws.root, create=False)
    assert load_workspace(driver, ws).parts_loaded[:1] == ["hosts"]
    assert members("watch") == sorted(ip for ip in private if ip.startswith("10.10."))
    delete_set(ws, "watch")
    load_workspace(driver, Workspace.open(tiny_ws.root, create=False))
    recs, _, _ = driver.execute_query("MATCH (s:IpSet {name: 'watch'}) RETURN count(s) AS n")
    assert recs[0]["n"] == 0
