"""The read-only Cypher console, over the Neo4j backend's own read-only runner.

Queries go to :func:`graphflow.stores.neo4j_console.run_read_only`: a READ access-mode
transaction with a time and a row limit, rolled back, after a pre-check that refuses write
clauses with a clear message. The web layer builds no Cypher and adds nothing that could weaken
that. The server is found by the usual rule: ``graphflow serve --neo4j URI``, else
``NEO4J_URI``, else the server of ``graphflow neo4j start``.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app, has_app_context

from graphflow.errors import GraphFlowError, StoreUnavailable
from web.errors import ApiError
from web.features import feature_module, feature_reason
from web.jsonable import jsonable

__all__ = ["console_target", "run_console"]

MAX_QUERY = 20_000
MAX_ROWS = 5_000
TIMEOUT = 30.0

_lock = threading.Lock()


def _settings() -> tuple[str | None, str | None, str | None]:
    if has_app_context():
        uri, user, password = current_app.config.get("GRAPHFLOW_NEO4J") or (None, None, None)
        return uri, user, password
    return None, None, None


def console_target() -> tuple[Any, str]:
    """(the Neo4j target, "") or (None, why the console is unavailable)."""
    if feature_module("neo4j") is None:
        return None, feature_reason("neo4j")
    from graphflow.stores.neo4j import resolve_target

    try:
        return resolve_target(*_settings()), ""
    except StoreUnavailable as exc:
        return None, str(exc)


def _driver(target: Any) -> Any:
    """One driver per app and server (the driver is thread-safe and pools connections)."""
    from graphflow.stores.neo4j import open_driver

    drivers: dict[str, Any] = current_app.extensions.setdefault("graphflow_neo4j", {})
    with _lock:
        driver = drivers.get(target.uri)
        if driver is None:
            driver = drivers[target.uri] = open_driver(target)
    return driver


def run_console(body: dict[str, Any]) -> dict[str, Any]:
    """Validate the JSON body, run it read-only, return columns and rows."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ApiError("query: expected a non-empty string", param="query")
    if len(query) > MAX_QUERY:
        raise ApiError(f"query: longer than {MAX_QUERY} characters", param="query")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise ApiError("params: expected a JSON object", param="params")
    limit = body.get("limit", 1000)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_ROWS:
        raise ApiError(f"limit: expected an integer 1-{MAX_ROWS}", param="limit")
    target, reason = console_target()
    if target is None:
        raise ApiError(f"the Cypher console is not available: {reason}", status=404)
    from graphflow.stores.neo4j_console import WriteRefused, run_read_only

    try:
        result = run_read_only(_driver(target), query, params, limit=limit, timeout=TIMEOUT)
    except WriteRefused as exc:
        raise ApiError(str(exc), status=403, param="query") from None
    except StoreUnavailable as exc:
        raise ApiError(str(exc), status=503) from None
    except GraphFlowError as exc:
        raise ApiError(str(exc), status=400, param="query") from None
    rows = [[r.get(c) for c in result.columns] for r in result.rows]
    return {"query": query, "result": {"columns": result.columns, "rows": jsonable(rows),
                                       "truncated": result.truncated,
                                       "seconds": round(result.seconds, 3)}}
