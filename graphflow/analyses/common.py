"""SQL pieces and helpers shared by the analyses (all over the edge model + hosts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

__all__ = ["PROBE_SQL", "edge_keys", "iso", "predicate", "rounded_ratio", "sort_ips"]

#: Which edge rows count as contact, by the ``count`` parameter of scan analyses.
PROBE_SQL = {
    "failed": "e.failed_flows > 0",
    "low": ("(e.failed_flows = e.flows OR (e.src_pkts + e.dst_pkts <= $max_pkts "
            "AND e.src_bytes + e.dst_bytes <= $max_bytes))"),
    "all": "true",
}


def predicate(count: str) -> str:
    """The SQL predicate for a ``count`` parameter value (failed, low or all)."""
    try:
        return PROBE_SQL[count]
    except KeyError:
        from graphflow.errors import ConfigError

        raise ConfigError("count", f"{count!r}: expected one of failed, low, all") from None


def iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def sort_ips(ips: Any) -> list[str]:
    """Distinct IPs sorted numerically (IPv4 first)."""
    return sorted({str(i) for i in ips if i is not None}, key=ip_sort_key)


def edge_keys(ctx: Context, sql: str, params: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Run ``sql`` (returning ``entity, day, src_ip, dst_ip, dst_port, proto``) and group the
    edge keys per entity, for drill-down."""
    out: dict[str, list[list[Any]]] = {}
    for ent, day, src, dst, port, proto in ctx.execute(sql, params).fetchall():
        out.setdefault(ent, []).append([iso(day), src, dst, port, proto])
    for v in out.values():
        v.sort(key=lambda k: (k[0], ip_sort_key(k[1]), ip_sort_key(k[2]),
                              -1 if k[3] is None else k[3], k[4]))
    return out


def rounded_ratio(num: int, den: int, digits: int) -> float | None:
    """``num / den`` rounded half-even to ``digits`` decimals on the exact ratio of the two
    integers (not on a float), as a float; None when ``den`` is 0.

    Both backends compute it the same way (the Cypher twins with integer arithmetic), so the
    figure is identical; rounding the float quotient instead differs between Python (exact
    binary value) and Cypher's ``round`` (shortest decimal text) near ties.

    >>> rounded_ratio(3, 20, 1), rounded_ratio(1, 4, 1), rounded_ratio(-3, 20, 1)
    (0.2, 0.2, -0.2)
    """
    if den == 0:
        return None
    from fractions import Fraction

    return float(round(Fraction(int(num), int(den)), digits))
