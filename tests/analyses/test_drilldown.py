"""For every analysis, the flows behind a finding recompute exactly the finding's figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from graphflow.analyses import REGISTRY, Finding, finding_flows, run_analysis
from graphflow.config import Thresholds
from graphflow.query import ip_sort_key
from tests.analyses.conftest import SEEDS

T = Thresholds()


def _edges(flows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, int]]:
    out: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in flows:
        k = (r["ts"].date(), r["src_ip"], r["dst_ip"], r["dst_port"], r["proto"])
        e = out[k]
        e["flows"] += 1
        e["pkts"] += (r["src_pkts"] or 0) + (r["dst_pkts"] or 0)
        e["bytes"] += (r["src_bytes"] or 0) + (r["dst_bytes"] or 0)
    return out


def _low(e: dict[str, int], failed_all: bool = False) -> bool:
    return failed_all or (e["pkts"] <= T.scanner_max_pkts and e["bytes"] <= T.scanner_max_bytes)


def recompute(f: Finding, flows: list[dict[str, Any]]) -> dict[str, Any]:
    fig = f.figures
    if f.analysis == "fanout_scanners":
        peers = {r["dst_ip"] if r["src_ip"] == f.entity else r["src_ip"] for r in flows}
        return {"peers": len(peers), "flows": len(flows), "days": len(
            {r["ts"].date() for r in flows})}
    if f.analysis == "vertical_scans":
        top = [r for r in flows if r["dst_ip"] == fig["target"]
               and r["ts"].date().isoformat() == fig["day"]]
        return {"max_ports_on_target": len({(r["proto"], r["dst_port"]) for r in top}),
                "flows": len(flows), "targets": len({r["dst_ip"] for r in flows})}
    if f.analysis == "syn_only_scans":
        return {"failed": len(flows), "targets": len({r["dst_ip"] for r in flows})}
    if f.analysis == "low_traffic":
        return {"flows": len(flows), "pkts": sum((r["src_pkts"] or 0) + (r["dst_pkts"] or 0)
                                                 for r in flows),
                "bytes": sum((r["src_bytes"] or 0) + (r["dst_bytes"] or 0) for r in flows)}
    if f.analysis == "top_scanners":
        key = {"widest": "own_hosts", "scanned": "peers", "active": "contacts"}[fig["ranking"]]
        value = {"own_hosts": len({r["dst_ip"] for r in flows}),
                 "peers": len({r["src_ip"] for r in flows}),
                 "contacts": len({(r["dst_ip"], r["ts"].date()) for r in flows})}[key]
        return {key: value}
    if f.analysis == "low_and_slow":
        return {"own_hosts": len({r["dst_ip"] for r in flows}), "flows": len(flows),
                "days_active": len({r["ts"].date() for r in flows})}
    if f.analysis == "coordinated_scanners":
        return {"hosts": len({r["dst_ip"] for r in flows}),
                "members": len({r["src_ip"] for r in flows}), "flows": len(flows)}
    if f.analysis == "scanner_got_in":
        edges = _edges(flows)
        probed = {k[2] for k, e in edges.items() if k[1] == f.entity and _low(e)}
        return {"probed_hosts": len(probed)}
    if f.analysis == "ingress_peaks":
        top = sum((r["src_bytes"] or 0) if r["dst_ip"] == f.entity else (r["dst_bytes"] or 0)
                  for r in flows)
        return {"top": top}
    if f.analysis == "hva_neighbourhood":
        peers = {r["dst_ip"] if r["src_ip"] == f.entity else r["src_ip"] for r in flows}
        return {"new_peers": len(peers)}
    if f.analysis == "policy_violations":
        if fig["kind"] in ("outbound", "inbound"):
            flows = [r for r in flows if (r["dst_ip"] if r["src_ip"] == f.entity
                                          else r["src_ip"]) in fig["peers"]]
        peers = {r["dst_ip"] if r["src_ip"] == f.entity else r["src_ip"] for r in flows}
        return {"flows": len(flows), "peers": sorted(peers, key=ip_sort_key)}
    if f.analysis == "top_talkers":
        col = {"bytes_out": ("src_ip", ["src_bytes"]), "bytes_in": ("dst_ip", ["src_bytes"]),
               "outbound_bytes": ("src_ip", ["src_bytes", "dst_bytes"]),
               "outbound_flows": ("src_ip", [])}[fig["ranking"]]
        mine = [r for r in flows if r[col[0]] == f.entity]
        value = len(mine) if not col[1] else sum(sum(r[c] or 0 for c in col[1]) for r in mine)
        return {"value": value}
    raise AssertionError(f"no recomputation for {f.analysis}")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_drilldown_recomputes_figures(generated, name: str) -> None:
    ws, _ = generated[SEEDS[0]]
    findings = run_analysis(ws, name)
    assert findings, f"{name} found nothing to drill into"
    for f in findings[:15]:
        flows = finding_flows(ws, f.id).to_pylist()
        assert flows and all(r["source_file"] and r["source_line"] for r in flows)
        got = recompute(f, flows)
        assert got == {k: f.figures[k] for k in got}, (f.id, got)
