"""Host profiles: per-port (or per port group) hourly/daily volume series for one host, sent
and received, each beside the same period one week earlier; what it served and contacted.

Bounded to one host, so it reads the flows table (hourly resolution needs flow start times).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from graphflow.db import connect
from graphflow.errors import GraphFlowError
from graphflow.workspace import Workspace

__all__ = ["SeriesPoint", "host_series", "parse_port_groups"]

_WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class SeriesPoint:
    bucket: str
    port: str
    sent: int
    received: int
    flows: int
    prev_sent: int
    prev_received: int
    prev_flows: int


def parse_port_groups(spec: str) -> dict[str, list[int]]:
    """``web=80+443,ssh=22+7322`` -> {"web": [80, 443], "ssh": [22, 7322]}.

    >>> parse_port_groups("web=80+443,mail=25+587")
    {'web': [80, 443], 'mail': [25, 587]}
    """
    out: dict[str, list[int]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, ports = part.partition("=")
        try:
            out[name.strip() or ports] = [int(x) for x in (ports or name).split("+")]
        except ValueError:
            raise GraphFlowError(f"port group {part!r}: expected name=port+port") from None
    return out


def host_series(ws: Workspace, ip: str, *, start: dt.datetime, end: dt.datetime,
                granularity: str = "hour", role: str = "both",
                port_groups: dict[str, list[int]] | None = None) -> list[SeriesPoint]:
    """Volume series of ``ip`` in [start, end) per bucket and port (or port group).

    ``role``: ``server`` (flows it answered: grouped by its own port), ``client`` (flows it
    originated: grouped by the peer's port) or ``both``. ``sent``/``received`` are from the
    host's point of view. Each point carries the same bucket one week earlier (``prev_*``).
    """
    if granularity not in ("hour", "day"):
        raise GraphFlowError(f"granularity {granularity!r}: expected hour or day")
    if role not in ("server", "client", "both"):
        raise GraphFlowError(f"role {role!r}: expected server, client or both")
    groups = port_groups or {}
    port_to_group = {p: g for g, ports in groups.items() for p in ports}
    con = connect(ws)
    try:
        rows = con.execute(f"""
            SELECT date_trunc('{granularity}', ts) AS bucket, ts >= $start AS current,
                   dst_port, proto, src_ip = $ip AS outbound,
                   sum(CASE WHEN src_ip = $ip THEN coalesce(src_bytes, 0)
                            ELSE coalesce(dst_bytes, 0) END)::BIGINT AS sent,
                   sum(CASE WHEN src_ip = $ip THEN coalesce(dst_bytes, 0)
                            ELSE coalesce(src_bytes, 0) END)::BIGINT AS received,
                   count(*)::BIGINT AS flows
            FROM flows
            WHERE (src_ip = $ip OR dst_ip = $ip)
              AND ((ts >= $start AND ts < $end) OR (ts >= $pstart AND ts < $pend))
              AND day >= CAST($pstart AS DATE) AND day <= CAST($end AS DATE)
            GROUP BY ALL
        """, {"ip": ip, "start": start, "end": end, "pstart": start - _WEEK,  # noqa: S608
              "pend": end - _WEEK}).fetchall()
    finally:
        con.close()
    acc: dict[tuple[str, str], list[int]] = {}
    for bucket, current, port, proto, outbound, sent, received, flows in rows:
        if role == "server" and outbound or role == "client" and not outbound:
            continue
        label = port_to_group.get(port) or (f"{proto}/{port}" if port is not None else proto)
        b = bucket if current else bucket + _WEEK
        key = (b.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), label)
        v = acc.setdefault(key, [0, 0, 0, 0, 0, 0])
        off = 0 if current else 3
        v[off] += sent
        v[off + 1] += received
        v[off + 2] += flows
    return [SeriesPoint(k[0], k[1], *v) for k, v in sorted(acc.items())]
