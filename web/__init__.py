"""GraphFlow's web layer: a Flask app factory, a JSON API and a Cytoscape.js UI.

>>> import tempfile
>>> from graphflow.workspace import Workspace
>>> app = create_app(store=Workspace.open(tempfile.mkdtemp() + "/ws"))
>>> client = app.test_client()
>>> r = client.get("/api/graph?port=nope")
>>> r.status_code, r.get_json()["error"]
(400, "port 'nope': expected an integer 0-65535")
>>> "script-src 'self'" in r.headers["Content-Security-Policy"]
True
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, request

from graphflow.config import Config, load_config
from graphflow.workspace import Workspace
from web.api import WebState
from web.api import bp as api_bp
from web.cache import ResponseCache
from web.errors import register_error_handlers
from web.selection import Limits
from web.source import DataSource
from web.ui import bp as ui_bp

__all__ = ["CSP", "LOOPBACK_HOSTS", "create_app"]

logger = logging.getLogger(__name__)

#: No inline script or style anywhere, nothing from another origin: the pages load their own
#: scripts from /static and talk to /api only. Data never reaches HTML (see docs/web.md).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'; object-src 'none'")

#: Host headers accepted when the server listens on loopback (defeats DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def create_app(config: Config | None = None, store: Workspace | None = None,
               settings: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app serving ``store`` (default: ``config.workspace``, which must exist).

    ``settings`` overlays Flask settings and GraphFlow's own: ``GRAPHFLOW_LIMITS`` (a
    :class:`web.selection.Limits`), ``GRAPHFLOW_RESPONSE_CACHE`` (answers kept per
    workspace state, 0 = none: :mod:`web.cache`), ``GRAPHFLOW_RULES`` (a loaded rules set for the
    "styling rules" mode and the exports; None = the library's defaults) and
    ``GRAPHFLOW_NEO4J`` ((uri, user, password) for the Cypher console; None = the usual
    rule: NEO4J_URI, else the server of ``graphflow neo4j start``) and ``TRUSTED_HOSTS``
    (accepted Host headers).
    """
    cfg = config or load_config()
    ws = store if store is not None else Workspace.open(cfg.workspace, create=False)
    app = Flask(__name__)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_SORT_KEYS=False,
        TRUSTED_HOSTS=None,
        GRAPHFLOW_LIMITS=Limits(),
        GRAPHFLOW_RULES=None,
        GRAPHFLOW_RESPONSE_CACHE=256,
        GRAPHFLOW_NEO4J=None,
        GRAPHFLOW_DUCKDB_THREADS=2,
    )
    if settings:
        app.config.from_mapping(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider attribute
    app.extensions["graphflow_cache"] = ResponseCache(int(app.config["GRAPHFLOW_RESPONSE_CACHE"]))
    source = DataSource(ws, cfg, threads=int(app.config["GRAPHFLOW_DUCKDB_THREADS"]))
    app.extensions["graphflow"] = WebState(source, app.config["GRAPHFLOW_LIMITS"])
    register_error_handlers(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(ui_bp)
    from web import charts  # plots (issue #10)
    charts.register(app)
    from web import investigations, sql_console  # issue #10

    sql_console.register(app)
    investigations.register(app)

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.path.startswith("/api/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    return app


def trusted_hosts_for(host: str) -> Iterable[str] | None:
    """The Host headers to accept for a bind address (None: any, for a non-loopback bind)."""
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return [*LOOPBACK_HOSTS, host]
    return None
