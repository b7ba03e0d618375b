"""High-value-asset neighbourhood: who talks to each HVA, on which ports, and who is new.

For each high-value asset (``hva`` in the hosts table, from the inventory), its peers in
both directions over the period: internal and external, ports served and used, first and last
seen. A finding is reported for an HVA with external peers that first appear in the last
``hva_new_window_days`` days of the data and never before (members: those new peers); the
full neighbourhood (``k``-hop, bounded) of any host is available through
:func:`neighbourhood`. Cypher twin: ``cypher/hva_neighbourhood.cypher``.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import iso
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "neighbourhood", "order", "run"]

NAME = "hva_neighbourhood"

#: Every edge row touching an HVA, from the HVA's side (``hva``, ``peer``, ``dir``), with
#: whether the peer is own; materialised once per run (three queries read it).
_CP = """
    WITH hv AS (SELECT ip FROM hosts WHERE hva),
    t AS MATERIALIZED (
        SELECT e.*, e.dst_ip IN (SELECT ip FROM hv) AS _in, e.src_ip IN (SELECT ip FROM hv) AS _out
        FROM edges e WHERE e.dst_ip IN (SELECT ip FROM hv) OR e.src_ip IN (SELECT ip FROM hv)),
    c AS (
        SELECT t.dst_ip AS hva, t.src_ip AS peer, 'in' AS dir, t.* EXCLUDE (_in, _out) FROM t
        WHERE _in
        UNION ALL
        SELECT t.src_ip AS hva, t.dst_ip AS peer, 'out' AS dir, t.* EXCLUDE (_in, _out) FROM t
        WHERE _out)
    SELECT c.*, coalesce(h.own, false) AS peer_own FROM c LEFT JOIN hosts h ON h.ip = c.peer
"""
_CP_TABLE = "hva_neighbourhood_cp"

#: The external peers first seen in the last $window days of the data (``new``).
_PEERS = f"""
    WITH cp AS (SELECT * FROM {_CP_TABLE}),
    lastday AS (SELECT max(day) AS d FROM edges),
    firsts AS (SELECT hva, peer, min(day) AS first_day FROM cp WHERE NOT peer_own GROUP BY ALL),
    new AS (SELECT f.hva, f.peer FROM firsts f, lastday l
            WHERE f.first_day > l.d - CAST($window AS INTEGER))
"""


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    ctx.temp_table(_CP_TABLE, _CP)
    new = ctx.rows(_PEERS + "SELECT hva, peer FROM new", p)
    if not new:
        return []
    summary = ctx.rows(_PEERS + """
        SELECT hva, count(DISTINCT peer) AS peers,
               count(DISTINCT peer) FILTER (WHERE peer_own) AS internal_peers,
               count(DISTINCT peer) FILTER (WHERE NOT peer_own) AS external_peers,
               list(DISTINCT proto || '/' || coalesce(CAST(dst_port AS VARCHAR), '-'))
                   FILTER (WHERE dir = 'in') AS ports_served,
               list(DISTINCT proto || '/' || coalesce(CAST(dst_port AS VARCHAR), '-'))
                   FILTER (WHERE dir = 'out') AS ports_used,
               min(first_seen) AS first_seen, max(last_seen) AS last_seen
        FROM cp GROUP BY hva
    """, p)
    edges = ctx.rows(_PEERS + """
        SELECT DISTINCT cp.hva, cp.day, cp.src_ip, cp.dst_ip, cp.dst_port, cp.proto,
               cp.first_seen FROM cp JOIN new n ON n.hva = cp.hva AND n.peer = cp.peer
    """, p)
    info = {r["hva"]: r for r in summary}
    by_hva: dict[str, list[str]] = {}
    for r in new:
        by_hva.setdefault(r["hva"], []).append(r["peer"])
    findings = []
    for hva, peers in by_hva.items():
        s = info[hva]
        keys = sorted(([iso(e["day"]), e["src_ip"], e["dst_ip"], e["dst_port"], e["proto"]]
                       for e in edges if e["hva"] == hva),
                      key=lambda k: (k[0], ip_sort_key(k[1]), ip_sort_key(k[2])))
        figures = {"new_peers": len(peers), "peers": int(s["peers"]),
                   "internal_peers": int(s["internal_peers"]),
                   "external_peers": int(s["external_peers"]),
                   "ports_served": sorted(s["ports_served"] or []),
                   "ports_used": sorted(s["ports_used"] or []),
                   "first_seen": iso(s["first_seen"]), "last_seen": iso(s["last_seen"]),
                   "first_new": min(k[0] for k in keys) if keys else None}
        findings.append(Finding(
            id=finding_id(NAME, hva, {}, p), analysis=NAME, entity=hva,
            members=sorted(peers, key=ip_sort_key), figures=figures,
            evidence={"fired": {"hva_new_window_days": p["window"]}, "params": p},
            drill={"edges": keys}))
    return sorted(findings, key=order)


def order(f: Finding) -> tuple[Any, ...]:
    """HVAs numerically."""
    return (ip_sort_key(f.entity),)


def neighbourhood(ctx: Context, ip: str, hops: int = 1, max_edges: int = 20_000) -> nx.DiGraph:
    """The ``hops``-hop neighbourhood of ``ip`` as a bounded graph of pair edges."""
    frontier, seen = {ip}, {ip}
    g = nx.DiGraph()
    for _ in range(max(1, hops)):
        rows = ctx.rows("""
            SELECT src_ip, dst_ip, sum(flows)::BIGINT AS flows,
                   sum(src_bytes + dst_bytes)::BIGINT AS bytes,
                   min(first_seen) AS first_seen, max(last_seen) AS last_seen
            FROM edges WHERE list_contains($f, src_ip) OR list_contains($f, dst_ip)
            GROUP BY ALL LIMIT $lim
        """, {"f": sorted(frontier), "lim": max_edges + 1})
        for r in rows:
            g.add_edge(r["src_ip"], r["dst_ip"], flows=r["flows"], bytes=r["bytes"],
                       first_seen=iso(r["first_seen"]), last_seen=iso(r["last_seen"]))
        if g.number_of_edges() > max_edges:
            from graphflow.errors import GraphFlowError

            raise GraphFlowError(f"neighbourhood of {ip} exceeds {max_edges} edges; use fewer "
                                 "hops or a time window")
        frontier = set(g.nodes) - seen
        seen |= frontier
        if not frontier:
            break
    return g


ANALYSIS = Analysis(
    name=NAME,
    summary="Each high-value asset's neighbourhood, reporting HVAs with new external peers.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("window", int, "days at the end of the data in which peers count as new",
              default_from="hva_new_window_days"),
        Param("hops", int, "k for the neighbourhood", default_from="hva_hops"),
    ),
    run=run,
    cypher="hva_neighbourhood.cypher",
    order=order,
)
