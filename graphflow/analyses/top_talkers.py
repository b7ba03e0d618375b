"""Top talkers: high-bandwidth hosts in and out, and own servers connecting outbound, with
what changed since the previous week.

Over the last ``window_days`` days of the data (the current window) and the same span just
before it (the previous week, by default), per host: bytes sent and received, and for own
hosts the outbound connections (flows they originated to external peers) and outbound bytes.
Rankings (top ``top_n`` with ties, as for top_scanners: rank = 1 + the hosts above):
``bytes_out``, ``bytes_in``, ``outbound_bytes`` and ``outbound_flows`` (own hosts to
external peers). Each finding gives
the current value, the previous window's value and the change. Host profiles (per-port
hourly/daily series with the week-earlier comparison) are in :mod:`graphflow.profiles`.
Cypher twin: ``cypher/top_talkers.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import edge_keys, iso, rounded_ratio
from graphflow.analyses.context import Context
from graphflow.errors import ConfigError
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "order", "run"]

NAME = "top_talkers"

#: ranking -> (host column, value expression, extra condition), over edges ``x`` joined with
#: the source ``s`` and destination ``d`` hosts; listed in report order.
_RANKINGS = {
    "bytes_out": ("x.src_ip", "x.src_bytes", "true"),
    "bytes_in": ("x.dst_ip", "x.src_bytes", "true"),
    "outbound_bytes": ("x.src_ip", "x.src_bytes + x.dst_bytes", "x.s_own AND NOT x.d_own"),
    "outbound_flows": ("x.src_ip", "x.flows", "x.s_own AND NOT x.d_own"),
}

def _case(i: int) -> str:
    """A CASE over ``rk.ranking`` picking item ``i`` of each ranking's definition."""
    return "CASE rk.ranking " + " ".join(
        f"WHEN '{name}' THEN {spec[i]}" for name, spec in _RANKINGS.items()) + " END"


#: Every ranking at once, in one pass over the edges: per (ranking, host) the current and
#: previous windows' values and the rank in the current window (``r``); ``xr`` the
#: current window's edges of each (ranking, host). Only rankings in $rankings. Constant text
#: (the SQL pieces above); parameters $window_days, $rankings.
_XR = f"""
    WITH bounds AS (SELECT max(day) AS last FROM edges),
    x AS (SELECT e.*, s.own AS s_own, d.own AS d_own,
                 e.day > b.last - CAST($window_days AS INTEGER) AS current
          FROM edges e, bounds b, hosts s, hosts d
          WHERE s.ip = e.src_ip AND d.ip = e.dst_ip
            AND e.day > b.last - 2 * CAST($window_days AS INTEGER)
            AND NOT coalesce(s.whitelisted, false)),
    xr AS (SELECT rk.ranking, {_case(0)} AS ip, {_case(1)} AS value, x.*
           FROM x, (SELECT unnest($rankings) AS ranking) rk WHERE {_case(2)})
"""
_RANKED = _XR + """,
    agg AS (SELECT ranking, ip, sum(value) FILTER (WHERE current) AS value,
                   coalesce(sum(value) FILTER (WHERE NOT current), 0) AS previous
            FROM xr GROUP BY ranking, ip HAVING bool_or(current)),
    r AS (SELECT *, rank() OVER (PARTITION BY ranking ORDER BY value DESC) AS rank
          FROM agg)
"""


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    wanted = list(_RANKINGS) if p["ranking"] == "all" else [p["ranking"]]
    if any(w not in _RANKINGS for w in wanted):
        raise ConfigError("ranking", f"{p['ranking']!r}: expected one of "
                                     f"{', '.join(_RANKINGS)} or all")
    q = {**p, "rankings": wanted}
    rows = ctx.rows(_RANKED + """
        SELECT r.*, b.last - CAST($window_days AS INTEGER) + 1 AS first_day, b.last AS last_day
        FROM r, bounds b WHERE rank <= $top_n""", q)
    findings = []
    for r in rows:
        ranking = r["ranking"]
        cur, prev = int(r["value"]), int(r["previous"])
        figures = {"ranking": ranking, "rank": int(r["rank"]), "value": cur,
                   "previous": prev, "change": cur - prev,
                   "change_pct": rounded_ratio(100 * (cur - prev), prev, 1),
                   "window_days": p["window_days"]}
        findings.append(Finding(
            id=finding_id(NAME, r["ip"], {"ranking": ranking}, p), analysis=NAME,
            entity=r["ip"], members=[], figures=figures,
            evidence={"fired": {"top_n": p["top_n"]}, "params": p},
            # the keys (every current-window edge of the host: tens of thousands for a busy
            # one) are computed on demand by _drill_edges
            drill={"window": [iso(r["first_day"]), iso(r["last_day"])]}))
    return sorted(findings, key=order)


def _drill_edges(ctx: Context, f: Finding) -> list[list[Any]]:
    """The current window's edges counted in the finding's ranking for its host."""
    p = f.evidence["params"]
    q = {"window_days": p["window_days"], "rankings": [f.figures["ranking"]], "ip": f.entity}
    return edge_keys(ctx, _XR + """SELECT DISTINCT ip, day, src_ip, dst_ip, dst_port, proto
                                    FROM xr WHERE ip = $ip AND current""", q).get(f.entity, [])


_RANK_ORDER = {k: i for i, k in enumerate(_RANKINGS)}


def order(f: Finding) -> tuple[Any, ...]:
    """Findings by ranking (in :data:`_RANKINGS` order), rank, then host numerically."""
    return (_RANK_ORDER[f.figures["ranking"]], f.figures["rank"], ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="Top hosts by bytes in/out and own servers by outbound bytes/connections, "
            "with the change since the previous week.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("top_n", int, "ranks to report (ties included)", default_from="top_n"),
        Param("window_days", int, "length of the current window (and of the previous one)",
              default=7),
        Param("ranking", str, "bytes_out, bytes_in, outbound_bytes, outbound_flows or all",
              default="all"),
    ),
    run=run,
    cypher="top_talkers.cypher",
    order=order,
    drill_edges=_drill_edges,
)
