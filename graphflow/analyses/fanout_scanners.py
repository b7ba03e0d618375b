"""Fan-out / horizontal scan: sources that reach many distinct peers in one day.

Counts, per source and UTC day, the distinct peers reached by edges that match ``count``:
``failed`` (default: flows that got no answer, the mark of a sweep; a proxy or resolver
reaching hundreds of servers that all answer is not a scan), ``low`` (failed or tiny over both
directions) or ``all`` (every peer, as flow-virus-check counts); those peers must also be at
least ``fanout_min_failed_share`` of all the peers it reached that day.
``direction=both`` counts peers in either direction. ``per_port`` counts peers per
destination port instead of any port.
Whitelisted sources are left out at query time. Cypher twin: ``cypher/fanout_scanners.cypher``.
Threshold: ``fanout_min_peers`` (see docs/configuration.md).
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import edge_keys, iso, predicate
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "fanout_scanners"


def _contacts(count: str, direction: str) -> str:
    """(ip, peer, e.*) rows: each edge seen from its source, and from its target if both."""
    pred = predicate(count)
    out = (f"SELECT e.src_ip AS ip, e.dst_ip AS peer, e.* FROM edges e "
           f"WHERE {pred}")
    if direction == "both":
        out += (f" UNION ALL SELECT e.dst_ip AS ip, e.src_ip AS peer, e.* FROM edges e "
                f"WHERE {pred}")
    elif direction != "out":
        from graphflow.errors import ConfigError

        raise ConfigError("direction", f"{direction!r}: expected out or both")
    return out


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    port_key = ", c.proto, c.dst_port" if p["per_port"] else ""
    base = f"""
        WITH c AS ({_contacts(p['count'], p['direction'])}),
        c2 AS (SELECT c.* FROM c LEFT JOIN hosts h ON h.ip = c.ip
               WHERE NOT coalesce(h.whitelisted, false)),
        a AS ({_contacts('all', p['direction'])}),
        everyone AS (SELECT ip, day, count(DISTINCT peer) AS peers FROM a GROUP BY ALL),
        counted AS (
            SELECT c2.ip, c2.day{port_key.replace('c.', 'c2.')},
                   count(DISTINCT c2.peer) AS peers
            FROM c2 GROUP BY ALL HAVING count(DISTINCT c2.peer) >= $min_peers),
        flagged AS (
            SELECT k.* FROM counted k JOIN everyone w USING (ip, day)
            WHERE k.peers >= $min_share * w.peers),
        hit AS (SELECT c2.* FROM c2 JOIN flagged f ON f.ip = c2.ip AND f.day = c2.day
                {'AND f.proto = c2.proto AND f.dst_port IS NOT DISTINCT FROM c2.dst_port'
                 if p['per_port'] else ''})
    """
    flows_col = "failed_flows" if p["count"] == "failed" else "flows"
    hit = ctx.temp_table("fanout_scanners_hit", base + "SELECT * FROM hit", p)
    rows = ctx.rows(f"""
        SELECT ip, count(DISTINCT peer) AS peers, count(DISTINCT day) AS days,
               count(DISTINCT (proto, dst_port)) AS ports, sum({flows_col})::BIGINT AS flows,
               list(DISTINCT day ORDER BY day) AS day_list
        FROM {hit} GROUP BY ip
    """)
    per_day = ctx.rows(f"""
        SELECT ip, day, count(DISTINCT peer) AS peers FROM {hit} GROUP BY ALL
    """)
    keys = edge_keys(ctx, f"""
        SELECT DISTINCT ip, day, src_ip, dst_ip, dst_port, proto FROM {hit}
    """, p)
    daily: dict[str, dict[str, int]] = {}
    for r in per_day:
        daily.setdefault(r["ip"], {})[iso(r["day"])] = int(r["peers"])
    findings = []
    for r in rows:
        ip = r["ip"]
        days = dict(sorted(daily.get(ip, {}).items()))
        top_day = max(days, key=lambda d: (days[d], d))
        figures = {"peers": int(r["peers"]), "max_peers_per_day": days[top_day],
                   "day": top_day, "days": int(r["days"]), "ports": int(r["ports"]),
                   "flows": int(r["flows"]), "peers_per_day": days}
        findings.append(Finding(
            id=finding_id(NAME, ip, {}, p), analysis=NAME, entity=ip, members=[],
            figures=figures,
            evidence={"fired": {"fanout_min_peers": p["min_peers"],
                                "fanout_min_failed_share": p["min_share"]}, "params": p},
            drill={"edges": keys.get(ip, []),
                   "flow_filter": "failed" if p["count"] == "failed" else None}))
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[Any, ...]:
    """Most peers in a day first, then the source numerically (both backends)."""
    return (-f.figures["max_peers_per_day"], ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="Sources reaching at least N distinct peers in one day (horizontal scan).",
    explain=(__doc__ or "").strip(),
    params=(
        Param("min_peers", int, "distinct peers per day", default_from="fanout_min_peers"),
        Param("min_share", float, "share of the day's peers reached that way",
              default_from="fanout_min_failed_share"),
        Param("count", str, "which contacts count: failed, low or all", default="failed"),
        Param("direction", str, "out (peers it contacted) or both directions", default="out"),
        Param("per_port", bool, "count peers per destination port", default=False),
        Param("max_pkts", int, "low-profile packets (count=low)", default_from="scanner_max_pkts"),
        Param("max_bytes", int, "low-profile bytes (count=low)",
              default_from="scanner_max_bytes"),
    ),
    run=run,
    cypher="fanout_scanners.cypher",
    order=_order,
)
