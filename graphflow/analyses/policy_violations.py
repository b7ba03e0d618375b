"""Asset policy checks: traffic against the inventory's per-direction port/peer/country
policies, traffic with non-routable (bogon) networks, and own hosts outside the declared
DHCP and static ranges.

Each distinct (source, destination, protocol, port) of the edge model is checked by the
inventory's policy engine (:class:`graphflow.assets.PolicyEngine`): port and country rules
apply to answered flows (unanswered attempts belong to the scan analyses), the bogon and
range rules to every flow. One finding per (rule kind, own host at fault): members are the
peers, figures the flows, ports and the rule. Without an inventory there is nothing to check.
Cypher twin: ``cypher/policy_violations.cypher``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from graphflow.analyses.base import Analysis, Finding, finding_id
from graphflow.analyses.common import iso
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "policy_violations"
_PORT_KINDS = {"outbound", "inbound", "country_outbound", "country_inbound"}


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    from graphflow.assets import load_inventory

    inv = load_inventory(ctx.ws)
    if inv is None:
        return []
    rows = ctx.rows("""
        SELECT src_ip, dst_ip, proto, dst_port,
               sum(flows - failed_flows)::BIGINT AS answered, sum(failed_flows)::BIGINT AS failed
        FROM edges GROUP BY ALL
    """)
    keys: dict[str, list[Any]] = {"src_ip": [], "dst_ip": [], "proto": [], "dst_port": [],
                                  "established": [], "flows": []}
    for r in rows:
        for est, n in ((True, r["answered"]), (False, r["failed"])):
            if n:
                for k in ("src_ip", "dst_ip", "proto", "dst_port"):
                    keys[k].append(r[k])
                keys["established"].append(est)
                keys["flows"].append(int(n))
    country = {r["ip"]: r["country"] for r in ctx.rows(
        "SELECT ip, country FROM hosts WHERE country IS NOT NULL")}
    engine = inv.policy_engine()
    engine.country_of = country.get
    table = pa.table({"src_ip": pa.array(keys["src_ip"], pa.string()),
                      "dst_ip": pa.array(keys["dst_ip"], pa.string()),
                      "proto": pa.array(keys["proto"], pa.string()),
                      "dst_port": pa.array(keys["dst_port"], pa.int64()),
                      "established": pa.array(keys["established"], pa.bool_()),
                      "flows": pa.array(keys["flows"], pa.int64())})
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for v in engine.check_table(table).to_pylist():
        f = found.setdefault((v["kind"], v["host"]), {"flows": 0, "peers": set(),
                                                      "ports": set(), "rule": v["rule"],
                                                      "subject": v["subject"], "keys": set()})
        f["flows"] += v["flows"]
        f["peers"].add(v["peer"])
        f["ports"].add(f"{v['proto']}/{v['dst_port']}" if v["dst_port"] is not None
                       else v["proto"])
        src, dst = (v["host"], v["peer"])
        f["keys"].add((src, dst, v["proto"], v["dst_port"]))
        f["keys"].add((dst, src, v["proto"], v["dst_port"]))
    findings = []
    for (kind, host), f in found.items():
        edges = ctx.rows("""
            SELECT day, src_ip, dst_ip, dst_port, proto FROM edges
            WHERE list_contains($pairs, src_ip || ' ' || dst_ip || ' ' || proto || ' '
                                        || coalesce(CAST(dst_port AS VARCHAR), '-'))
        """, {"pairs": sorted(f"{a} {b} {c} {'-' if d is None else d}"
                               for a, b, c, d in f["keys"])})
        peers = sorted(f["peers"], key=ip_sort_key)
        figures = {"kind": kind, "rule": f["rule"], "subject": f["subject"],
                   "flows": f["flows"], "peers": peers, "ports": sorted(f["ports"])}
        findings.append(Finding(
            id=finding_id(NAME, host, {"kind": kind}, p), analysis=NAME, entity=host,
            members=peers, figures=figures,
            evidence={"fired": {"rule": f["rule"]}, "params": p},
            drill={"edges": sorted([[iso(e["day"]), e["src_ip"], e["dst_ip"], e["dst_port"],
                                     e["proto"]] for e in edges],
                                   key=lambda k: (k[0], ip_sort_key(k[1]), ip_sort_key(k[2]))),
                   "flow_filter": "answered" if kind in _PORT_KINDS else None}))
    return sorted(findings, key=lambda f: (ip_sort_key(f.entity), f.figures["kind"]))


ANALYSIS = Analysis(
    name=NAME,
    summary="Flows against the inventory's policies, bogon peers, own hosts outside ranges.",
    explain=(__doc__ or "").strip(),
    params=(),
    run=run,
    cypher="policy_violations.cypher",
)
