"""Failed-connection (SYN-only) scanners: sources whose flows mostly go unanswered.

Per source and UTC day: the flows that got no answer (S0, REJ, RSTOS0, SH, or nothing back)
against all its flows. A source is reported when on some day it has at least
``syn_only_min_flows`` failed flows and they are at least ``syn_only_min_ratio`` of its flows
(so a busy host with a few failures is not). Figures give the day with most failures, the
ports tried and the targets. Whitelisted sources are left out.
Cypher twin: ``cypher/syn_only_scans.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import edge_keys, iso
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "syn_only_scans"

_BASE = """
    WITH c AS (
        SELECT e.* FROM edges e LEFT JOIN hosts h ON h.ip = e.src_ip
        WHERE NOT coalesce(h.whitelisted, false)),
    daily AS (
        SELECT src_ip, day, sum(failed_flows) AS failed, sum(flows) AS flows FROM c
        GROUP BY ALL
        HAVING sum(failed_flows) >= $min_flows AND sum(failed_flows) >= $min_ratio * sum(flows)),
    hit AS (SELECT c.* FROM c JOIN daily d USING (src_ip, day) WHERE c.failed_flows > 0)
"""


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    hit = ctx.temp_table("syn_only_scans_hit", _BASE + "SELECT * FROM hit", p)
    days = ctx.rows(_BASE + "SELECT src_ip, day, failed, flows FROM daily", p)
    extra = ctx.rows(f"""
        SELECT src_ip, count(DISTINCT dst_ip) AS targets,
               count(DISTINCT (proto, dst_port)) AS ports FROM {hit} GROUP BY src_ip
    """)
    keys = edge_keys(ctx, f"""
        SELECT DISTINCT src_ip, day, src_ip, dst_ip, dst_port, proto FROM {hit}
    """, p)
    by_src: dict[str, list[dict[str, Any]]] = {}
    for r in days:
        by_src.setdefault(r["src_ip"], []).append(r)
    more = {r["src_ip"]: r for r in extra}
    findings = []
    for ip, rs in by_src.items():
        top = max(rs, key=lambda r: (r["failed"], iso(r["day"])))
        figures = {
            "failed": sum(int(r["failed"]) for r in rs), "day": iso(top["day"]),
            "max_failed_per_day": int(top["failed"]),
            "ratio": round(int(top["failed"]) / int(top["flows"]), 4),
            "days": len(rs), "targets": int(more[ip]["targets"]),
            "ports": int(more[ip]["ports"]),
            "failed_per_day": {iso(r["day"]): int(r["failed"])
                               for r in sorted(rs, key=lambda r: r["day"])},
        }
        findings.append(Finding(
            id=finding_id(NAME, ip, {}, p), analysis=NAME, entity=ip, members=[],
            figures=figures,
            evidence={"fired": {"syn_only_min_flows": p["min_flows"],
                                "syn_only_min_ratio": p["min_ratio"]}, "params": p},
            drill={"edges": keys.get(ip, []), "flow_filter": "failed"}))
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[Any, ...]:
    return (-f.figures["failed"], ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="Sources with many unanswered (S0/REJ/SYN-only) flows in a day, mostly failing.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("min_flows", int, "failed flows per day", default_from="syn_only_min_flows"),
        Param("min_ratio", float, "failed share of the day's flows",
              default_from="syn_only_min_ratio"),
    ),
    run=run,
    cypher="syn_only_scans.cypher",
    order=_order,
)
