"""The edge model: flows aggregated per (day, src_ip, dst_ip, dst_port, proto).

This is the one definition every later layer uses (Neo4j relationships, exports, the web
graph, analyses). Coarser views, per pair or per window, are aggregations of these rows
(:func:`coarsen_sql`).

``syn_only_flows`` counts TCP flows to which the responder never answered with data: states
S0 (no reply), REJ (rejected), RSTOS0 and SH (originator gave up), or, for sources without a
state, no packet back at all.
"""

from __future__ import annotations

__all__ = ["DAY_SQL", "EDGE_AGG_SQL", "FAILED_SQL", "SYN_ONLY_SQL", "coarsen_sql"]

#: A SQL boolean over a flow row: no answer from the responder (any protocol).
FAILED_SQL = "(state IN ('REJ', 'RSTOS0') OR coalesce(dst_pkts, 0) = 0)"

#: The UTC day of a flow's ``ts``, by integer arithmetic (no time-zone machinery involved).
DAY_SQL = "(DATE '1970-01-01' + CAST(epoch_us(ts) // 86400000000 AS INTEGER))"

#: A SQL boolean over a flow row: the flow got no answer (SYN-only). Used by edges and analyses.
SYN_ONLY_SQL = (
    "(proto = 'tcp' AND (state IN ('S0', 'REJ', 'RSTOS0', 'SH') "
    "OR (state IS NULL AND coalesce(dst_pkts, 0) = 0)))"
)

#: SELECT list + GROUP BY that turns flow rows (a relation named ``f``) into edge rows.
EDGE_AGG_SQL = f"""
SELECT {DAY_SQL} AS day, src_ip, dst_ip, dst_port, proto,
       count(*)::BIGINT AS flows,
       coalesce(sum(src_bytes), 0)::BIGINT AS src_bytes,
       coalesce(sum(dst_bytes), 0)::BIGINT AS dst_bytes,
       coalesce(sum(src_pkts), 0)::BIGINT AS src_pkts,
       coalesce(sum(dst_pkts), 0)::BIGINT AS dst_pkts,
       min(ts) AS first_seen,
       CAST(make_timestamp(max(epoch_us(ts)
                               + CAST(round(coalesce(duration, 0) * 1e6) AS BIGINT)))
            AS TIMESTAMPTZ) AS last_seen,
       count(*) FILTER (WHERE state = 'S0')::BIGINT AS s0_flows,
       count(*) FILTER (WHERE state = 'REJ')::BIGINT AS rej_flows,
       count(*) FILTER (WHERE {FAILED_SQL})::BIGINT AS failed_flows,
       count(*) FILTER (WHERE {SYN_ONLY_SQL})::BIGINT AS syn_only_flows
FROM f
GROUP BY ALL
"""  # noqa: S608 - built from constants only


def coarsen_sql(per_port: bool) -> str:
    """Aggregate edge rows (relation ``e``) per pair (and per port/proto when ``per_port``)."""
    keys = "src_ip, dst_ip" + (", dst_port, proto" if per_port else "")
    return f"""
SELECT {keys},
       sum(flows)::BIGINT AS flows, sum(src_bytes)::BIGINT AS src_bytes,
       sum(dst_bytes)::BIGINT AS dst_bytes, sum(src_pkts)::BIGINT AS src_pkts,
       sum(dst_pkts)::BIGINT AS dst_pkts, min(first_seen) AS first_seen,
       max(last_seen) AS last_seen, sum(s0_flows)::BIGINT AS s0_flows,
       sum(rej_flows)::BIGINT AS rej_flows, sum(failed_flows)::BIGINT AS failed_flows,
       sum(syn_only_flows)::BIGINT AS syn_only_flows,
       count(DISTINCT day)::BIGINT AS days
FROM e
GROUP BY {keys}
"""  # noqa: S608 - keys come from constants
