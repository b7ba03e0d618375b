"""Top talkers: high-bandwidth hosts in and out, and own servers connecting outbound, with
what changed since the previous week.

Over the last ``window_days`` days of the data (the current window) and the same span just
before it (the previous week, by default), per host: bytes sent and received, and for own
hosts the outbound connections (flows they originated to external peers) and outbound bytes.
Rankings (dense rank, ties included, top ``top_n``): ``bytes_out``, ``bytes_in``,
``outbound_bytes`` and ``outbound_flows`` (own hosts to external peers). Each finding gives
the current value, the previous window's value and the change. Host profiles (per-port
hourly/daily series with the week-earlier comparison) are in :mod:`graphflow.profiles`.
Cypher twin: ``cypher/top_talkers.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import edge_keys, iso
from graphflow.analyses.context import Context
from graphflow.errors import ConfigError
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "top_talkers"

#: ranking -> (host column, value expression, extra condition)
_RANKINGS = {
    "bytes_out": ("e.src_ip", "sum(e.src_bytes) + 0", "true"),
    "bytes_in": ("e.dst_ip", "sum(e.src_bytes) + 0", "true"),
    "outbound_bytes": ("e.src_ip", "sum(e.src_bytes + e.dst_bytes) + 0", "s.own AND NOT d.own"),
    "outbound_flows": ("e.src_ip", "sum(e.flows) + 0", "s.own AND NOT d.own"),
}


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    wanted = list(_RANKINGS) if p["ranking"] == "all" else [p["ranking"]]
    if any(w not in _RANKINGS for w in wanted):
        raise ConfigError("ranking", f"{p['ranking']!r}: expected one of "
                                     f"{', '.join(_RANKINGS)} or all")
    findings = []
    for ranking in wanted:
        col, value, cond = _RANKINGS[ranking]
        base = f"""
            WITH bounds AS (SELECT max(day) AS last FROM edges),
            e AS (SELECT e.*, CASE WHEN e.day > b.last - CAST($window_days AS INTEGER)
                                   THEN 'current' ELSE 'previous' END AS period
                  FROM edges e, bounds b
                  WHERE e.day > b.last - 2 * CAST($window_days AS INTEGER)),
            x AS (SELECT e.* FROM e JOIN hosts s ON s.ip = e.src_ip
                  JOIN hosts d ON d.ip = e.dst_ip
                  WHERE {cond} AND NOT coalesce(s.whitelisted, false)),
            v AS (SELECT {col.replace('e.', 'x.')} AS ip,
                         {value.replace('e.', 'x.')} AS value FROM x
                  WHERE period = 'current' GROUP BY 1),
            prev AS (SELECT {col.replace('e.', 'x.')} AS ip,
                            {value.replace('e.', 'x.')} AS value FROM x
                     WHERE period = 'previous' GROUP BY 1),
            r AS (SELECT v.ip, v.value, coalesce(prev.value, 0) AS previous,
                         dense_rank() OVER (ORDER BY v.value DESC) AS rank
                  FROM v LEFT JOIN prev USING (ip))
        """
        rows = ctx.rows(base + "SELECT * FROM r WHERE rank <= $top_n", p)
        keys = edge_keys(ctx, base + f"""
            SELECT DISTINCT r.ip, x.day, x.src_ip, x.dst_ip, x.dst_port, x.proto
            FROM r JOIN x ON {col.replace('e.', 'x.')} = r.ip
            WHERE r.rank <= $top_n AND x.period = 'current'
        """, p)
        for r in rows:
            cur, prev = int(r["value"]), int(r["previous"])
            figures = {"ranking": ranking, "rank": int(r["rank"]), "value": cur,
                       "previous": prev, "change": cur - prev,
                       "change_pct": round(100 * (cur - prev) / prev, 1) if prev else None,
                       "window_days": p["window_days"]}
            ek = keys.get(r["ip"], [])
            findings.append(Finding(
                id=finding_id(NAME, r["ip"], {"ranking": ranking}, p), analysis=NAME,
                entity=r["ip"], members=[], figures=figures,
                evidence={"fired": {"top_n": p["top_n"]}, "params": p},
                drill={"edges": ek, "window": [min((k[0] for k in ek), default=None),
                                               max((k[0] for k in ek), default=None)]}))
    order = {k: i for i, k in enumerate(_RANKINGS)}
    findings.sort(key=lambda f: (order[f.figures["ranking"]], f.figures["rank"],
                                 ip_sort_key(f.entity)))
    _ = iso
    return findings


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
)
