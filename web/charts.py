"""Charts in the web UI: a JSON API over :mod:`graphflow.plots` and the page that draws it.

``/api/charts/volume``, ``/api/charts/top`` and ``/api/charts/countries`` return the library's
series documents unchanged (the same JSON ``graphflow plot`` writes beside its images);
``/charts`` is the page, which draws them in the browser with the vendored Chart.js
(``web/static/vendor``, from npm via scripts/setup.d/50-web.sh), logarithmic axes where the
document says so. Dates: ``from`` and ``to`` are UTC days, both included, as everywhere in
the UI.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, request

from web.api import ok, state
from web.errors import ApiError
from web.params import Args, parse_ip

__all__ = ["api", "bp", "page", "register"]

bp = Blueprint("charts_page", __name__)
api = Blueprint("charts_api", __name__, url_prefix="/api/charts")


def _window(args: Args) -> tuple[dt.datetime | None, dt.datetime | None]:
    start, end = args.date("from"), args.date("to")
    if start and end and end < start:
        raise ApiError(f"to {end} is before from {start}", param="to")

    def at(d: dt.date | None, plus: int = 0) -> dt.datetime | None:
        if d is None:
            return None
        return dt.datetime.combine(d + dt.timedelta(days=plus), dt.time(0), tzinfo=dt.UTC)

    return at(start), at(end, 1)


def _ok(doc: dict[str, Any]) -> Response:
    return ok({"series": doc})


@api.get("/volume")
def volume() -> Response:
    """A host's volume series (``host``, ``port`` or ``ports``, ``granularity``, window)."""
    from graphflow.plots import volume_series

    args = Args(request.args)
    host = parse_ip(args.text("host") or "", "host")
    port = args.integer("port", -1, lo=0, hi=65535) if args.has("port") else None
    ports = args.text("ports", max_len=200)
    granularity = args.choice("granularity", ("hour", "day"), "hour")
    start, end = _window(args)
    if port is not None and ports:
        raise ApiError("give port or ports, not both", param="ports")
    return _ok(volume_series(state().source.ws, host, port=port, ports=ports,
                             granularity=granularity, start=start, end=end))


@api.get("/top")
def top() -> Response:
    """Top-N bars: ``what`` talkers (``metric``, ``direction``) or scanners (``ranking``)."""
    from graphflow.plots import METRICS, SCANNER_RANKINGS, top_series

    args = Args(request.args)
    what = args.choice("what", ("talkers", "scanners"), "talkers")
    start, end = _window(args)
    return _ok(top_series(
        state().source.ws, what, n=args.integer("n", 10, lo=1, hi=200),
        metric=args.choice("metric", METRICS, "bytes"),
        direction=args.choice("direction", ("sent", "received", "total"), "sent"),
        ranking=args.choice("ranking", SCANNER_RANKINGS, "widest"), start=start, end=end))


@api.get("/countries")
def countries() -> Response:
    """External scanners per country (from the scan analyses' findings)."""
    from graphflow.plots import country_series

    start, end = _window(Args(request.args))
    return _ok(country_series(state().source.ws, start=start, end=end))


@bp.get("/charts")
def page() -> str:
    from web.ui import _page

    return _page("charts.html", "charts")


def register(app: Flask) -> None:
    """Add the charts page and API to ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(api)
