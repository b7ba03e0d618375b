"""Low-and-slow multi-day scans: external sources under every per-day threshold that, over
the whole period, touch many own hosts.

A source qualifies when it is external and not whitelisted, stays below every per-day scan
threshold on every day (distinct unanswered peers < ``fanout_min_peers``, unanswered flows <
``syn_only_min_flows``, ports on one target < ``vertical_min_ports``), is active on at least
``low_and_slow_min_days`` days, and reaches at least ``low_and_slow_min_hosts`` distinct own
hosts with low-profile edges over the period. Figures: days active, span, hosts per day,
total hosts. Cypher twin: ``cypher/low_and_slow.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import PROBE_SQL, edge_keys, iso
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "low_and_slow"

_LOW = PROBE_SQL["low"]

_BASE = f"""
    WITH src AS (
        SELECT e.* FROM edges e JOIN hosts h ON h.ip = e.src_ip
        WHERE NOT h.own AND NOT coalesce(h.whitelisted, false)),
    daily AS (
        SELECT src_ip, day,
               count(DISTINCT dst_ip) FILTER (WHERE failed_flows > 0) AS failed_peers,
               sum(failed_flows) AS failed
        FROM src GROUP BY ALL),
    vert AS (
        SELECT src_ip, max(n) AS ports FROM (
            SELECT src_ip, dst_ip, day, count(DISTINCT (proto, dst_port)) AS n FROM src e
            WHERE dst_port IS NOT NULL AND {_LOW} GROUP BY ALL) GROUP BY src_ip),
    quiet AS (
        SELECT d.src_ip FROM daily d LEFT JOIN vert v USING (src_ip) GROUP BY d.src_ip
        HAVING max(d.failed_peers) < $fanout_min_peers AND max(d.failed) < $syn_only_min_flows
           AND coalesce(max(v.ports), 0) < $vertical_min_ports
           AND count(DISTINCT d.day) >= $min_days),
    probes AS (
        SELECT e.* FROM src e JOIN quiet USING (src_ip) JOIN hosts o ON o.ip = e.dst_ip
        WHERE o.own AND {_LOW}),
    flagged AS (SELECT src_ip FROM probes GROUP BY src_ip
                HAVING count(DISTINCT dst_ip) >= $min_hosts),
    hit AS (SELECT probes.* FROM probes JOIN flagged USING (src_ip))
"""


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    hit = ctx.temp_table("low_and_slow_hit", _BASE + "SELECT * FROM hit", p)
    rows = ctx.rows(f"""
        SELECT src_ip, count(DISTINCT dst_ip) AS hosts, count(DISTINCT day) AS days,
               min(first_seen) AS first_seen, max(last_seen) AS last_seen,
               sum(flows)::BIGINT AS flows
        FROM {hit} GROUP BY src_ip
    """)
    per_day = ctx.rows(f"""
        SELECT src_ip, day, count(DISTINCT dst_ip) AS hosts FROM {hit} GROUP BY ALL
    """)
    keys = edge_keys(ctx, f"""
        SELECT DISTINCT src_ip, day, src_ip, dst_ip, dst_port, proto FROM {hit}
    """, p)
    daily: dict[str, dict[str, int]] = {}
    for r in per_day:
        daily.setdefault(r["src_ip"], {})[iso(r["day"])] = int(r["hosts"])
    findings = []
    for r in rows:
        ip = r["src_ip"]
        hosts_per_day = dict(sorted(daily[ip].items()))
        span = (r["last_seen"] - r["first_seen"]).total_seconds() / 86400
        figures = {"own_hosts": int(r["hosts"]), "days_active": int(r["days"]),
                   "span_days": round(span, 2), "first_seen": iso(r["first_seen"]),
                   "last_seen": iso(r["last_seen"]), "flows": int(r["flows"]),
                   "max_hosts_per_day": max(hosts_per_day.values()),
                   "hosts_per_day": hosts_per_day}
        findings.append(Finding(
            id=finding_id(NAME, ip, {}, p), analysis=NAME, entity=ip, members=[],
            figures=figures,
            evidence={"fired": {"low_and_slow_min_days": p["min_days"],
                                "low_and_slow_min_hosts": p["min_hosts"]},
                      "below_every_day": {"fanout_min_peers": p["fanout_min_peers"],
                                          "syn_only_min_flows": p["syn_only_min_flows"],
                                          "vertical_min_ports": p["vertical_min_ports"]},
                      "params": p},
            drill={"edges": keys.get(ip, [])}))
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[Any, ...]:
    """Most own hosts first, then the source numerically (both backends)."""
    return (-f.figures["own_hosts"], ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="External sources under every per-day threshold that touch many own hosts over days.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("min_days", int, "days active", default_from="low_and_slow_min_days"),
        Param("min_hosts", int, "own hosts over the period",
              default_from="low_and_slow_min_hosts"),
        Param("fanout_min_peers", int, "per-day fan-out threshold",
              default_from="fanout_min_peers"),
        Param("syn_only_min_flows", int, "per-day failed-flow threshold",
              default_from="syn_only_min_flows"),
        Param("vertical_min_ports", int, "per-day vertical threshold",
              default_from="vertical_min_ports"),
        Param("max_pkts", int, "low-profile packets", default_from="scanner_max_pkts"),
        Param("max_bytes", int, "low-profile bytes", default_from="scanner_max_bytes"),
    ),
    run=run,
    cypher="low_and_slow.cypher",
    order=_order,
)
