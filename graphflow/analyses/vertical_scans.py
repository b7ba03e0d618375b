"""Vertical scan: a source probing many distinct ports on one target in one day.

Counts, per (source, target, UTC day), the distinct TCP/UDP destination ports of edges that
match ``count`` (default ``low``: unanswered or tiny over both directions, so a passive-FTP
client moving data over many server ports is not a scan). Whitelisted sources are left out.
Cypher twin: ``cypher/vertical_scans.cypher``. Threshold: ``vertical_min_ports``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import edge_keys, iso, predicate
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "vertical_scans"


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    base = f"""
        WITH c AS (
            SELECT e.* FROM edges e LEFT JOIN hosts h ON h.ip = e.src_ip
            WHERE NOT coalesce(h.whitelisted, false) AND e.proto IN ('tcp', 'udp', 'sctp')
              AND e.dst_port IS NOT NULL AND {predicate(p['count'])}),
        flagged AS (SELECT src_ip, dst_ip, day FROM c GROUP BY ALL
                    HAVING count(DISTINCT (proto, dst_port)) >= $min_ports),
        hit AS (SELECT c.* FROM c JOIN flagged f USING (src_ip, dst_ip, day))
    """
    rows = ctx.rows(base + """
        SELECT src_ip, dst_ip, day, count(DISTINCT (proto, dst_port)) AS ports,
               sum(flows)::BIGINT AS flows, sum(failed_flows)::BIGINT AS failed
        FROM hit GROUP BY ALL
    """, p)
    keys = edge_keys(ctx, base + """
        SELECT DISTINCT src_ip, day, src_ip, dst_ip, dst_port, proto FROM hit
    """, p)
    per_src: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        per_src.setdefault(r["src_ip"], []).append(r)
    findings = []
    for ip, rs in per_src.items():
        # ties (same ports, same day) go to the lowest target address as a string, as in
        # the Cypher twin, so that both backends name the same target
        top = max(sorted(rs, key=lambda r: str(r["dst_ip"])),
                  key=lambda r: (r["ports"], iso(r["day"])))
        targets = sorted({r["dst_ip"] for r in rs}, key=ip_sort_key)
        figures = {"max_ports_on_target": int(top["ports"]), "target": top["dst_ip"],
                   "day": iso(top["day"]), "targets": len(targets),
                   "flows": sum(int(r["flows"]) for r in rs),
                   "failed": sum(int(r["failed"]) for r in rs)}
        findings.append(Finding(
            id=finding_id(NAME, ip, {}, p), analysis=NAME, entity=ip, members=targets,
            figures=figures, evidence={"fired": {"vertical_min_ports": p["min_ports"]},
                                       "params": p},
            drill={"edges": keys.get(ip, [])}))
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[Any, ...]:
    """Most ports on one target first, then the source numerically (both backends)."""
    return (-f.figures["max_ports_on_target"], ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="Sources probing at least N distinct ports on one target in one day.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("min_ports", int, "distinct ports on one target per day",
              default_from="vertical_min_ports"),
        Param("count", str, "which contacts count: failed, low or all", default="low"),
        Param("max_pkts", int, "low-profile packets", default_from="scanner_max_pkts"),
        Param("max_bytes", int, "low-profile bytes", default_from="scanner_max_bytes"),
    ),
    run=run,
    cypher="vertical_scans.cypher",
    order=_order,
)
