"""Low-traffic table (trafMon's lowTraffic): tiny exchanges between external peers and own
services.

Per UTC day and per (external peer, own host, own host's port): flows the peer originated to
the own host, packets and bytes summed over both directions. Rows are kept only when tiny:
at most ``low_traffic_max_pkts`` packets and ``low_traffic_max_bytes`` bytes. Each row is a
finding (entity: the peer; members: the own host) with the peer's country, city, ASN and DNS
names. ``order=remote`` sorts by remote then own address (numerically), ``order=day`` by day.
Cypher twin: ``cypher/low_traffic.cypher``.
"""

from __future__ import annotations

from typing import Any

from graphflow.analyses.base import Analysis, Finding, FindingIds, Param
from graphflow.analyses.common import iso
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "LOW_TRAFFIC_SQL", "order", "run"]

NAME = "low_traffic"

#: The low-traffic rows: (day, peer, own_ip, port, proto, flows, pkts, bytes); parameters
#: $max_pkts and $max_bytes.
LOW_TRAFFIC_SQL = """
    SELECT e.day, e.src_ip AS peer, e.dst_ip AS own_ip, e.dst_port AS port, e.proto,
           sum(e.flows)::BIGINT AS flows,
           sum(e.src_pkts + e.dst_pkts)::BIGINT AS pkts,
           sum(e.src_bytes + e.dst_bytes)::BIGINT AS bytes
    FROM edges e
    JOIN hosts o ON o.ip = e.dst_ip AND o.own
    JOIN hosts r ON r.ip = e.src_ip AND NOT r.own AND NOT coalesce(r.whitelisted, false)
    GROUP BY ALL
    HAVING sum(e.src_pkts + e.dst_pkts) <= $max_pkts
       AND sum(e.src_bytes + e.dst_bytes) <= $max_bytes
"""


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    rows = ctx.rows(f"""
        SELECT t.*, h.country, h.city, h.asn, h.as_org, h.dns
        FROM ({LOW_TRAFFIC_SQL}) t LEFT JOIN hosts h ON h.ip = t.peer
    """, p)
    findings = []
    ids = FindingIds(NAME, p)
    for r in rows:
        day = iso(r["day"])
        key = {"day": day, "own_ip": r["own_ip"], "port": r["port"], "proto": r["proto"]}
        figures = {"day": day, "own_ip": r["own_ip"], "port": r["port"], "proto": r["proto"],
                   "flows": int(r["flows"]), "pkts": int(r["pkts"]), "bytes": int(r["bytes"]),
                   "country": r["country"], "city": r["city"], "asn": r["asn"],
                   "as_org": r["as_org"], "dns": list(r["dns"] or [])}
        findings.append(Finding(
            id=ids(r["peer"], key), analysis=NAME, entity=r["peer"],
            members=[r["own_ip"]], figures=figures,
            evidence={"fired": {"low_traffic_max_pkts": p["max_pkts"],
                                "low_traffic_max_bytes": p["max_bytes"]}, "params": p},
            drill={"edges": [[day, r["peer"], r["own_ip"], r["port"], r["proto"]]]}))
    return sorted(findings, key=order)


def order(f: Finding) -> tuple[Any, ...]:
    """By remote then own address (numerically), day, port and protocol; or, with the
    parameter ``order=day``, by day first."""
    fig = f.figures
    rest = (-1 if fig["port"] is None else fig["port"], fig["proto"], f.id)
    if f.evidence["params"]["order"] == "day":
        return (fig["day"], ip_sort_key(f.entity), ip_sort_key(f.members[0]), *rest)
    return (ip_sort_key(f.entity), ip_sort_key(f.members[0]), fig["day"], *rest)


ANALYSIS = Analysis(
    name=NAME,
    summary="Per day, tiny exchanges between external peers and own host ports.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("max_pkts", int, "packets over both directions",
              default_from="low_traffic_max_pkts"),
        Param("max_bytes", int, "bytes over both directions",
              default_from="low_traffic_max_bytes"),
        Param("order", str, "remote (remote, own address) or day", default="remote"),
    ),
    run=run,
    cypher="low_traffic.cypher",
    order=order,
)
