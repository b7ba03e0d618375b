"""Abnormal daily ingress peak: own hosts whose top day of ingress from external peers far
exceeds their second-highest day.

Ingress of an own host on a UTC day: bytes sent to it by external peers (``src_bytes`` of
edges external -> host, plus ``dst_bytes`` of edges host -> external). A host is reported when
its top day is at least ``ingress_peak_min_bytes`` and at least ``ingress_peak_factor`` times
its second-highest day, and not explained by a weekly rhythm (the same weekday of an earlier
week within the factor). Figures: the jump as a ratio and a percentage, the ratio to the same
weekday of earlier weeks, and the top senders on the peak day (with their geo/ASN/DNS).
Cypher twin: ``cypher/ingress_peaks.cypher``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import iso, rounded_ratio, sort_ips
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "INGRESS_SQL", "order", "run"]

NAME = "ingress_peaks"

#: (host, peer, day, bytes, edge key...) rows of ingress from external peers to own hosts.
INGRESS_SQL = """
    SELECT e.dst_ip AS host, e.src_ip AS peer, e.day, e.src_bytes AS bytes,
           e.src_ip, e.dst_ip, e.dst_port, e.proto
    FROM edges e JOIN hosts o ON o.ip = e.dst_ip AND o.own
                 JOIN hosts x ON x.ip = e.src_ip AND NOT x.own
    UNION ALL
    SELECT e.src_ip AS host, e.dst_ip AS peer, e.day, e.dst_bytes AS bytes,
           e.src_ip, e.dst_ip, e.dst_port, e.proto
    FROM edges e JOIN hosts o ON o.ip = e.src_ip AND o.own
                 JOIN hosts x ON x.ip = e.dst_ip AND NOT x.own
"""


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    daily = ctx.rows(f"""
        WITH i AS ({INGRESS_SQL}),
        d AS (SELECT host, day, sum(bytes)::BIGINT AS bytes FROM i GROUP BY ALL),
        top AS (SELECT host, max(bytes) AS top FROM d GROUP BY host HAVING max(bytes) >= $min_bytes)
        SELECT d.host, d.day, d.bytes FROM d JOIN top USING (host)
    """, p)
    per_host: dict[str, dict[dt.date, int]] = {}
    for r in daily:
        per_host.setdefault(r["host"], {})[r["day"]] = int(r["bytes"])
    flagged: dict[str, dict[str, Any]] = {}
    for host, days in per_host.items():
        ranked = sorted(days.items(), key=lambda kv: (-kv[1], kv[0]))
        (peak_day, top) = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0
        if second and top < p["factor"] * second:
            continue
        earlier = [v for d, v in days.items() if d < peak_day and (peak_day - d).days % 7 == 0]
        weekly = max(earlier) if earlier else 0
        if weekly and top < p["factor"] * weekly:
            continue  # a weekly rhythm: the same weekday of an earlier week was as high
        flagged[host] = {"day": peak_day, "top": top, "second": second, "weekly": weekly}
    if not flagged:
        return []
    senders = ctx.rows(f"""
        WITH i AS ({INGRESS_SQL})
        SELECT i.host, i.peer, i.day, sum(i.bytes)::BIGINT AS bytes,
               any_value(h.country) AS country, any_value(h.asn) AS asn,
               any_value(h.as_org) AS as_org, any_value(h.dns) AS dns
        FROM i LEFT JOIN hosts h ON h.ip = i.peer
        WHERE list_contains($hosts, i.host) GROUP BY i.host, i.peer, i.day
    """, {"hosts": list(flagged)})
    edges = ctx.rows(f"""
        WITH i AS ({INGRESS_SQL})
        SELECT DISTINCT host, day, src_ip, dst_ip, dst_port, proto FROM i
        WHERE list_contains($hosts, host)
    """, {"hosts": list(flagged)})
    findings = []
    for host, f in flagged.items():
        day = f["day"]
        top_senders = sorted((s for s in senders if s["host"] == host and s["day"] == day),
                             key=lambda s: (-s["bytes"], ip_sort_key(s["peer"])))[:p["top_n"]]
        figures = {
            "day": iso(day), "top": f["top"], "second": f["second"],
            "ratio": rounded_ratio(f["top"], f["second"], 4),
            "jump_pct": rounded_ratio(100 * (f["top"] - f["second"]), f["second"], 1),
            "weekday_ratio": rounded_ratio(f["top"], f["weekly"], 4),
            "ingress_per_day": {iso(d): v for d, v in sorted(per_host[host].items())},
            "top_senders": [{"ip": s["peer"], "bytes": int(s["bytes"]),
                             "country": s["country"], "asn": s["asn"], "as_org": s["as_org"],
                             "dns": list(s["dns"] or [])} for s in top_senders],
        }
        keys = [[iso(e["day"]), e["src_ip"], e["dst_ip"], e["dst_port"], e["proto"]]
                for e in edges if e["host"] == host and e["day"] == day]
        findings.append(Finding(
            id=finding_id(NAME, host, {}, p), analysis=NAME, entity=host,
            members=sort_ips(s["ip"] for s in figures["top_senders"]), figures=figures,
            evidence={"fired": {"ingress_peak_factor": p["factor"],
                                "ingress_peak_min_bytes": p["min_bytes"]}, "params": p},
            drill={"edges": sorted(keys, key=lambda k: (ip_sort_key(k[1]), ip_sort_key(k[2]),
                                                         k[3] or -1, k[4]))}))
    return sorted(findings, key=order)


def order(f: Finding) -> tuple[Any, ...]:
    """Largest peak first, then host numerically."""
    return (-f.figures["top"], ip_sort_key(f.entity))


ANALYSIS = Analysis(
    name=NAME,
    summary="Own hosts whose top day of external ingress dwarfs their second-highest day.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("factor", float, "top day / second-highest day", default_from="ingress_peak_factor"),
        Param("min_bytes", int, "ignore hosts whose top day is smaller",
              default_from="ingress_peak_min_bytes"),
        Param("top_n", int, "top senders to list", default_from="top_n"),
    ),
    run=run,
    cypher="ingress_peaks.cypher",
    order=order,
)
