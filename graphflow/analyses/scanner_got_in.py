"""Scanner that got in: a low-profile prober that later has an established, data-bearing
session with a host it probed (trafMon's FTP login that succeeded after failures).

A prober is an external, non-whitelisted source that reached at least
``got_in_min_probed_hosts`` own hosts with low-profile edges. A session is an answered edge
row between the prober and one of the hosts it probed (either direction) that is not
low-profile, starting after the first probe of that host. Figures: probe day, probed hosts,
the session's day, port and bytes. Cypher twin: ``cypher/scanner_got_in.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import PROBE_SQL, edge_keys, iso
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "scanner_got_in"

_LOW = PROBE_SQL["low"]

_BASE = f"""
    WITH probes AS (
        SELECT e.* FROM edges e JOIN hosts h ON h.ip = e.src_ip JOIN hosts o ON o.ip = e.dst_ip
        WHERE NOT h.own AND NOT coalesce(h.whitelisted, false) AND o.own AND {_LOW}),
    probers AS (SELECT src_ip FROM probes GROUP BY src_ip
                HAVING count(DISTINCT dst_ip) >= $min_probed),
    first_probe AS (SELECT p.src_ip AS peer, p.dst_ip AS host, min(p.first_seen) AS t0
                    FROM probes p JOIN probers USING (src_ip) GROUP BY ALL),
    sessions AS (
        SELECT fp.peer, fp.host, e.* FROM edges e JOIN first_probe fp
          ON e.src_ip = fp.peer AND e.dst_ip = fp.host
        WHERE e.failed_flows < e.flows AND NOT {_LOW} AND e.first_seen > fp.t0
        UNION ALL
        SELECT fp.peer, fp.host, e.* FROM edges e JOIN first_probe fp
          ON e.src_ip = fp.host AND e.dst_ip = fp.peer
        WHERE e.failed_flows < e.flows AND NOT {_LOW} AND e.first_seen > fp.t0)
"""
# Two equality joins (one per direction) rather than one join on an OR: DuckDB hashes
# equality joins, an OR condition falls back to a nested loop (5x slower at 10M flows).
# A pair cannot match both branches (peer is external, host is own), so nothing doubles.


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    sess = ctx.rows(_BASE + """
        SELECT peer, host, day, dst_port, proto, flows, src_bytes, dst_bytes, first_seen
        FROM sessions
        ORDER BY peer, first_seen, src_ip, dst_ip, dst_port NULLS LAST, proto
    """, p)
    if not sess:
        return []
    probe = ctx.rows(_BASE + """
        SELECT peer, min(t0) AS first_probe, count(DISTINCT host) AS probed
        FROM first_probe WHERE peer IN (SELECT peer FROM sessions) GROUP BY peer
    """, p)
    keys = edge_keys(ctx, _BASE + """
        SELECT DISTINCT peer, day, src_ip, dst_ip, dst_port, proto FROM sessions
        UNION
        SELECT DISTINCT p.src_ip, p.day, p.src_ip, p.dst_ip, p.dst_port, p.proto
        FROM probes p WHERE p.src_ip IN (SELECT peer FROM sessions)
    """, p)
    info = {r["peer"]: r for r in probe}
    by_peer: dict[str, list[dict[str, Any]]] = {}
    for r in sess:
        by_peer.setdefault(r["peer"], []).append(r)
    findings = []
    for peer, rs in by_peer.items():
        first = rs[0]
        hosts = sorted({r["host"] for r in rs}, key=ip_sort_key)
        figures = {"probed_hosts": int(info[peer]["probed"]),
                   "first_probe": iso(info[peer]["first_probe"]),
                   "session_host": first["host"], "session_day": iso(first["day"]),
                   "session_port": first["dst_port"], "session_proto": first["proto"],
                   "session_flows": sum(int(r["flows"]) for r in rs),
                   "session_bytes": sum(int(r["src_bytes"]) + int(r["dst_bytes"]) for r in rs)}
        findings.append(Finding(
            id=finding_id(NAME, peer, {}, p), analysis=NAME, entity=peer, members=hosts,
            figures=figures,
            evidence={"fired": {"got_in_min_probed_hosts": p["min_probed"]}, "params": p},
            drill={"edges": keys.get(peer, [])}))
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[Any, ...]:
    """The prober numerically (both backends)."""
    return (ip_sort_key(f.entity),)


ANALYSIS = Analysis(
    name=NAME,
    summary="A low-profile prober that later holds a data-bearing session with a probed host.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("min_probed", int, "own hosts probed first",
              default_from="got_in_min_probed_hosts"),
        Param("max_pkts", int, "low-profile packets", default_from="scanner_max_pkts"),
        Param("max_bytes", int, "low-profile bytes", default_from="scanner_max_bytes"),
    ),
    run=run,
    cypher="scanner_got_in.cypher",
    order=_order,
)
