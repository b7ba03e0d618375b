"""The SQL console: read-only SQL over the workspace tables (:mod:`graphflow.sql`).

``POST /api/sql`` takes ``{"query", "params", "limit", "timeout"}`` or ``{"example", "params",
...}`` and answers ``{"result": {columns, types, rows, truncated, limit, seconds}}``;
``GET /api/sql/examples`` lists the shipped example queries; ``GET /sql`` is the page. The
library refuses anything but one SELECT over the workspace tables and runs it on a locked
DuckDB connection with a time and a row limit; this layer only validates the request and maps
refusals to 403, timeouts to 408 and other query errors to 400. Results reach the page as JSON
and are written into the table with ``textContent``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request

from graphflow.sql import (
    MAX_QUERY,
    SqlError,
    SqlRefused,
    SqlTimeout,
    get_example,
    list_examples,
    open_sql,
    run_sql,
)
from web.errors import ApiError

__all__ = ["api_bp", "bp", "register", "run_console"]

MAX_ROWS = 5_000
MAX_TIMEOUT = 60.0

api_bp = Blueprint("sql_api", __name__, url_prefix="/api")
bp = Blueprint("sql_ui", __name__)


def register(app: Flask) -> None:
    """Add the console's API route and page to ``app``."""
    app.register_blueprint(api_bp)
    app.register_blueprint(bp)


def _ok(doc: dict[str, Any]) -> Response:
    from web.api import ok

    return ok(doc, clean=True)


def run_console(body: dict[str, Any]) -> dict[str, Any]:
    """Validate the JSON body, run the query read-only, return the result document."""
    from web.api import state

    params = body.get("params") or {}
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str | int | float))
            for k, v in params.items()):
        raise ApiError("params: expected a JSON object of names to strings or numbers",
                       param="params")
    limit = body.get("limit", 1000)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_ROWS:
        raise ApiError(f"limit: expected an integer 1-{MAX_ROWS}", param="limit")
    timeout = body.get("timeout", 30)
    if (not isinstance(timeout, int | float) or isinstance(timeout, bool)
            or not 0 < timeout <= MAX_TIMEOUT):
        raise ApiError(f"timeout: expected seconds, more than 0 and at most {MAX_TIMEOUT:g}",
                       param="timeout")
    example = body.get("example")
    query = body.get("query")
    try:
        if example is not None:
            if not isinstance(example, str) or query is not None:
                raise ApiError("give either query or example (a name)", param="example")
            ex = get_example(example)
            query = ex.sql
            params = ex.bind({k: str(v) for k, v in params.items() if v is not None})
        elif not isinstance(query, str) or not query.strip():
            raise ApiError("query: expected a non-empty string", param="query")
        elif len(query) > MAX_QUERY:
            raise ApiError(f"query: longer than {MAX_QUERY} characters", param="query")
        ws = state().source.ws
        con = open_sql(ws, threads=int(current_app.config.get("GRAPHFLOW_DUCKDB_THREADS") or 2))
        try:
            result = run_sql(ws, query, params, limit=limit, timeout=float(timeout), con=con)
        finally:
            con.close()
    except SqlRefused as exc:
        raise ApiError(str(exc), status=403, param="query") from None
    except SqlTimeout as exc:
        raise ApiError(str(exc), status=408, param="timeout") from None
    except SqlError as exc:
        raise ApiError(str(exc), status=400, param="query") from None
    return {"query": query, "params": params, "result": result.to_dict()}


@api_bp.post("/sql")
def sql() -> Response:
    """Run one read-only SELECT (JSON body: query or example, params, limit, timeout)."""
    if not request.is_json:
        raise ApiError("send the query as JSON (Content-Type: application/json)", status=415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("body: expected a JSON object {\"query\": ...}", param="query")
    return _ok(run_console(body))


@api_bp.get("/sql/examples")
def examples() -> Response:
    """The shipped example queries with their parameters."""
    from graphflow.sql import SQL_TABLES

    return _ok({"tables": list(SQL_TABLES), "examples": [e.to_dict() for e in list_examples()]})


@bp.get("/sql")
def page() -> str:
    from web.api import state
    from web.features import features

    snap = state().source.snapshot()
    return render_template("sql.html", page="sql", features=features(snap.has_hosts))
