"""Top scanners, top scanned, most active scanners: rankings over the low-traffic table.

With the synthesis cut-offs (``scanner_max_pkts``/``scanner_max_bytes``, trafMon's 20 packets
and 2000 bytes) the low-traffic rows are ranked three ways:
``widest``: remote peers by the number of own hosts they reached;
``scanned``: own hosts by the number of distinct low-profile peers;
``active``: remote peers by the number of (own host, day) contacts.
Top ``top_n`` by value with ties included, as SQL's ``FETCH FIRST n ROWS WITH TIES``: an
entity's rank is 1 + the number of entities with a higher value, kept when it is at most
``top_n`` (so five hosts tied first are all rank 1, and the next one is rank 6; a long tail
of sources tied on a small value is not listed). ``ranking`` picks one, or ``all``.
Cypher twin: ``cypher/top_scanners.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import edge_keys
from graphflow.analyses.context import Context
from graphflow.analyses.low_traffic import LOW_TRAFFIC_SQL
from graphflow.errors import ConfigError
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "top_scanners"

_RANKINGS = {
    "widest": ("peer", "count(DISTINCT own_ip)", "own_hosts"),
    "scanned": ("own_ip", "count(DISTINCT peer)", "peers"),
    "active": ("peer", "count(DISTINCT (own_ip, day))", "contacts"),
}


#: the temporary table of this run's low-traffic rows (in the analysis's own connection)
_ROWS = "top_scanners_rows"


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    wanted = list(_RANKINGS) if p["ranking"] == "all" else [p["ranking"]]
    if any(w not in _RANKINGS for w in wanted):
        raise ConfigError("ranking", f"{p['ranking']!r}: expected widest, scanned, active or all")
    findings = []
    # the low-traffic rows once (every ranking and its drill-down read them)
    ctx.temp_table(_ROWS, LOW_TRAFFIC_SQL, p)
    for ranking in wanted:
        ent, measure, label = _RANKINGS[ranking]
        base = f"""
            WITH t AS (SELECT * FROM {_ROWS}),
            v AS (SELECT {ent} AS ip, {measure} AS value FROM t GROUP BY 1),
            r AS (SELECT ip, value, rank() OVER (ORDER BY value DESC) AS rank FROM v)
        """
        rows = ctx.rows(base + "SELECT ip, value, rank FROM r WHERE rank <= $top_n", p)
        keys = edge_keys(ctx, base + f"""
            SELECT DISTINCT r.ip, t.day, t.peer, t.own_ip, t.port, t.proto
            FROM r JOIN t ON t.{ent} = r.ip WHERE r.rank <= $top_n
        """, p)
        for r in rows:
            figures = {"ranking": ranking, "rank": int(r["rank"]), label: int(r["value"])}
            edges = keys.get(r["ip"], [])
            members = sorted({k[2] if ent == "peer" else k[1] for k in edges}, key=ip_sort_key)
            findings.append(Finding(
                id=finding_id(NAME, r["ip"], {"ranking": ranking}, p), analysis=NAME,
                entity=r["ip"], members=members, figures=figures,
                evidence={"fired": {"top_n": p["top_n"], "scanner_max_pkts": p["max_pkts"],
                                    "scanner_max_bytes": p["max_bytes"]}, "params": p},
                drill={"edges": edges}))
    findings.sort(key=_order)
    return findings


def _order(f: Finding) -> tuple[Any, ...]:
    """Ranking (widest, scanned, active), rank, then the address numerically (both backends)."""
    return (list(_RANKINGS).index(f.figures["ranking"]), f.figures["rank"],
            ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="Widest scanners, most scanned own hosts, most active scanners (low-profile).",
    explain=(__doc__ or "").strip(),
    params=(
        Param("max_pkts", int, "low-profile packets", default_from="scanner_max_pkts"),
        Param("max_bytes", int, "low-profile bytes", default_from="scanner_max_bytes"),
        Param("top_n", int, "ranks to report (ties included)", default_from="top_n"),
        Param("ranking", str, "widest, scanned, active or all", default="all"),
    ),
    run=run,
    cypher="top_scanners.cypher",
    order=_order,
)
