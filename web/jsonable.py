"""Values from Arrow/DuckDB rows made JSON-safe: times as ISO-8601 UTC with ``Z``."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["iso_time", "jsonable", "jsonable_row"]


def jsonable(v: Any) -> Any:
    """A JSON-ready value.

    >>> jsonable(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    '2026-03-02T08:00:00Z'
    >>> jsonable({"d": dt.date(2026, 3, 2), "x": [Decimal("1.5"), float("nan")]})
    {'d': '2026-03-02', 'x': [1.5, None]}
    """
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy scalars
        return jsonable(v.item())
    return v


def iso_time(v: dt.datetime | None) -> str | None:
    """A UTC time as ISO-8601 with ``Z`` (the fast path of :func:`jsonable` for times)."""
    if v is None:
        return None
    if v.tzinfo is not None and v.utcoffset():
        v = v.astimezone(dt.UTC)
    return v.replace(tzinfo=None).isoformat() + "Z"


def jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in row.items()}
