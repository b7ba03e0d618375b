"""The shipped example queries run on a generated workspace and agree with the analyses and
with independent computations over the library's own tables (numbers, not just rows)."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import pytest

from graphflow.analyses import run_analysis
from graphflow.query import FlowFilter, select_edges, select_flows
from graphflow.sql import get_example, list_examples, run_example, run_sql
from graphflow.workspace import Workspace

EXPECTED = {"port_volume", "incoming_ports", "server_contacts", "scan_attempts",
            "top_port_scanners"}


def _busiest_server(ws: Workspace) -> str:
    return str(run_sql(ws, "SELECT dst_ip FROM flows GROUP BY 1 ORDER BY count(*) DESC, 1 "
                           "LIMIT 1").rows[0][0])


def _dicts(result: Any) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, r, strict=True)) for r in result.rows]


def test_examples_are_documented() -> None:
    exs = {e.name: e for e in list_examples()}
    assert set(exs) == EXPECTED
    for e in exs.values():
        assert e.title and e.description, e.name
        for name, (_default, help_) in e.params.items():
            assert help_, (e.name, name)
            assert f"${name}" in e.sql, (e.name, name)
    assert get_example("top-port-scanners").name == "top_port_scanners"


def test_top_port_scanners_agree_with_top_scanners(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    for max_pkts, max_bytes, top in ((20, 2000, 5), (10, 800, 3)):
        got = _dicts(run_example(ws, "top_port_scanners", {
            "max_pkts": str(max_pkts), "max_bytes": str(max_bytes), "top": str(top)}))
        findings = run_analysis(ws, "top_scanners", {"ranking": "widest", "max_pkts": max_pkts,
                                                     "max_bytes": max_bytes, "top_n": top})
        want = sorted((f.figures["rank"], f.entity, f.figures["own_hosts"]) for f in findings)
        assert want, "the generated scenario has wide scanners"
        assert sorted((r["rank"], r["peer"], r["own_hosts"]) for r in got) == want


def test_scan_attempts_agree_with_syn_only_scans(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    rows = _dicts(run_example(ws, "scan_attempts", limit=100_000))
    by = {(r["src_ip"], r["day"].isoformat()): r for r in rows}
    findings = run_analysis(ws, "syn_only_scans")
    assert findings
    for f in findings:
        for day, failed in f.figures["failed_per_day"].items():
            r = by[(f.entity, day)]
            assert r["failed"] == failed, (f.entity, day)
            assert not r["whitelisted"]
        top = by[(f.entity, f.figures["day"])]
        assert top["ratio"] == pytest.approx(f.figures["ratio"], abs=1e-4)
    # and the analysis's thresholds pick exactly the qualifying (source, day) rows
    p = findings[0].evidence["params"]
    qualifying = {r["src_ip"] for r in rows if not r["whitelisted"]
                  and r["failed"] >= p["min_flows"] and r["failed"] >= p["min_ratio"] * r["flows"]}
    assert qualifying == {f.entity for f in findings}
    fewer = run_example(ws, "scan_attempts", {"min_failed": "50"}, limit=100_000)
    assert sorted(fewer.rows) == sorted(r for r in run_example(
        ws, "scan_attempts", limit=100_000).rows if r[2] >= 50)


def test_incoming_ports_agree_with_edges(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    server = _busiest_server(ws)
    got = {(r["port"], r["proto"]): r for r in _dicts(
        run_example(ws, "incoming_ports", {"server": server}, limit=100_000))}
    edges = select_edges(ws, FlowFilter(hosts=(server,)), per_port=True).to_pylist()
    want: dict[tuple[Any, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    clients: dict[tuple[Any, str], set[str]] = collections.defaultdict(set)
    for e in edges:
        if e["dst_ip"] != server:
            continue
        k = (e["dst_port"], e["proto"])
        want[k].update({"flows": e["flows"], "bytes_in": e["src_bytes"],
                        "bytes_out": e["dst_bytes"], "unanswered": e["failed_flows"]})
        clients[k].add(e["src_ip"])
    assert set(got) == set(want)
    for k, c in want.items():
        r = got[k]
        assert (r["flows"], r["bytes_in"], r["bytes_out"], r["unanswered"], r["clients"]) == (
            c["flows"], c["bytes_in"], c["bytes_out"], c["unanswered"], len(clients[k])), k


def test_server_contacts_agree_with_flows(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    src = str(run_sql(ws, "SELECT src_ip FROM flows GROUP BY 1 ORDER BY count(DISTINCT dst_ip) "
                          "DESC, 1 LIMIT 1").rows[0][0])
    got = {(r["peer"], r["port"], r["proto"]): (r["flows"], r["bytes_sent"], r["bytes_received"])
           for r in _dicts(run_example(ws, "server_contacts", {"server": src}, limit=100_000))}
    want: dict[tuple[Any, ...], list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for f in select_flows(ws, FlowFilter(hosts=(src,), limit=None)).to_pylist():
        if f["src_ip"] != src:
            continue
        w = want[(f["dst_ip"], f["dst_port"], f["proto"])]
        w[0] += 1
        w[1] += f["src_bytes"] or 0
        w[2] += f["dst_bytes"] or 0
    assert len(got) > 1
    assert got == {k: tuple(v) for k, v in want.items()}


@pytest.mark.parametrize("bucket", ["day", "hour"])
def test_port_volume_agrees_with_flows(sql_ws: tuple[Workspace, Any], bucket: str) -> None:
    ws, _ = sql_ws
    server = _busiest_server(ws)
    days = 3
    got = _dicts(run_example(ws, "port_volume", {"server": server, "days": str(days),
                                                 "bucket": bucket}, limit=100_000))
    flows = select_flows(ws, FlowFilter(hosts=(server,), limit=None)).to_pylist()
    newest = max(f["ts"] for f in select_flows(ws, FlowFilter(limit=None)).to_pylist())
    cut = newest - dt.timedelta(days=days)
    want: dict[tuple[Any, ...], list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for f in flows:
        if f["dst_ip"] != server or f["ts"] <= cut:
            continue
        t = f["ts"].replace(minute=0, second=0, microsecond=0)
        if bucket == "day":
            t = t.replace(hour=0)
        w = want[(t, f["dst_port"], f["proto"])]
        w[0] += 1
        w[1] += f["src_bytes"] or 0
        w[2] += f["dst_bytes"] or 0
    assert want
    assert {(r["period"], r["port"], r["proto"]): [r["flows"], r["bytes_in"], r["bytes_out"]]
            for r in got} == dict(want)
    periods = {r["period"] for r in got}
    assert len(periods) <= (days + 1) * (24 if bucket == "hour" else 1)


def test_findings_table_holds_the_cached_findings(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    findings = run_analysis(ws, "syn_only_scans")
    r = run_sql(ws, "SELECT id, entity, CAST(figures->>'failed' AS BIGINT) AS failed, "
                    "len(members) AS m FROM findings WHERE analysis = 'syn_only_scans' "
                    "AND params = $p ORDER BY id",
                {"p": __import__("json").dumps(findings[0].evidence["params"], sort_keys=True)})
    assert sorted((x[0], x[1], x[2]) for x in r.rows) == sorted(
        (f.id, f.entity, f.figures["failed"]) for f in findings)


def test_examples_are_in_the_docs() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "sql.md").read_text()
    for e in list_examples():
        assert f"| `{e.name}` |" in text, e.name
        for name, (default, _help) in e.params.items():
            assert f"`{name}`" in text or f"`{name}={default}`" in text, (e.name, name)
