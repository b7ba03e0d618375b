"""The high-value-asset page: each HVA (``hva`` in the hosts table) and its neighbourhood."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphflow.db import fetch_arrow
from web.errors import ApiError
from web.jsonable import jsonable_row
from web.source import DataSource

__all__ = ["hva_overview"]

_SQL = """
WITH hv AS (SELECT ip FROM hosts WHERE hva),
     own AS (SELECT ip FROM hosts WHERE own),
     nb AS (
        SELECT e.dst_ip AS hva, e.src_ip AS peer, 'in' AS dir, e.dst_port, e.proto, e.flows,
               e.src_bytes + e.dst_bytes AS bytes, e.first_seen, e.last_seen
        FROM edges e JOIN hv ON e.dst_ip = hv.ip
        UNION ALL
        SELECT e.src_ip, e.dst_ip, 'out', e.dst_port, e.proto, e.flows,
               e.src_bytes + e.dst_bytes, e.first_seen, e.last_seen
        FROM edges e JOIN hv ON e.src_ip = hv.ip),
     firsts AS (SELECT hva, peer, min(first_seen) AS first FROM nb GROUP BY ALL)
SELECT h.ip, h.name, h.role, h.owner, h.criticality,
       count(DISTINCT nb.peer) FILTER (WHERE nb.dir = 'in')::BIGINT AS peers_in,
       count(DISTINCT nb.peer) FILTER (WHERE nb.dir = 'out')::BIGINT AS peers_out,
       count(DISTINCT nb.peer) FILTER (WHERE nb.peer IN (SELECT ip FROM own))::BIGINT
           AS internal_peers,
       count(DISTINCT nb.peer) FILTER (WHERE nb.peer NOT IN (SELECT ip FROM own))::BIGINT
           AS external_peers,
       coalesce(sum(nb.flows), 0)::BIGINT AS flows,
       coalesce(sum(nb.bytes), 0)::BIGINT AS bytes,
       min(nb.first_seen) AS first_seen, max(nb.last_seen) AS last_seen,
       list_sort(list_distinct(list(nb.proto || '/' || coalesce(CAST(nb.dst_port AS VARCHAR),
           '-')) FILTER (WHERE nb.dir = 'in')))[1:12] AS ports_in,
       (SELECT list_sort(list(f.peer)) FROM firsts f
        WHERE f.hva = h.ip AND f.first >= ?) AS new_peers
FROM hosts h LEFT JOIN nb ON nb.hva = h.ip
WHERE h.hva
GROUP BY h.ip, h.name, h.role, h.owner, h.criticality
ORDER BY h.ip
"""


def hva_overview(source: DataSource, new_days: int = 7) -> dict[str, Any]:
    """HVAs with peers in/out, internal vs external peers, ports served, and the peers first
    seen in the last ``new_days`` days of the workspace."""
    with source.cursor() as (snap, cur):
        if not snap.has_hosts:
            raise ApiError("the HVA page needs the hosts table (run 'graphflow enrich' with an "
                           "asset inventory)", status=409)
        days = snap.day_list
        since = (days[-1] - dt.timedelta(days=new_days - 1)) if days else dt.date.today()
        since_ts = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
        rows = fetch_arrow(cur, _SQL, [since_ts]).to_pylist()
    earlier = bool(days) and days[0] < since
    for r in rows:
        if not earlier:
            r["new_peers"] = []  # nothing to compare with
        r["new_peers"] = (r["new_peers"] or [])[:50]
    return {"ok": True, "hvas": [jsonable_row(r) for r in rows], "new_since": since.isoformat(),
            "new_days": new_days, "comparable": earlier}
