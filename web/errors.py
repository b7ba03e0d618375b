"""One error shape for the whole JSON API.

Every error response, whatever raised it, is::

    {"ok": false, "status": 400, "error": "port 'x': expected an integer 0-65535",
     "errors": [{"param": "port", "message": "expected an integer 0-65535"}]}

Bad input is a 4xx with that body, never a 500 or a traceback. :class:`ApiError` carries the
status and the per-parameter messages; :class:`graphflow.errors.GraphFlowError` (something a
user can act on: an unknown finding, a selection too large) becomes a 400 (404 for unknown
names, 503 when a backend such as Neo4j cannot be reached). Anything else is a bug: it is
logged with its traceback server-side and the client gets a generic 500 in the same shape,
with no internals.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from graphflow.errors import GraphFlowError, StoreUnavailable, UnknownAnalysis

__all__ = ["ApiError", "error_response", "register_error_handlers"]

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the API refuses: ``status`` (4xx), a message, and per-parameter details."""

    def __init__(self, message: str, status: int = 400, *, param: str | None = None,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors if errors is not None else (
            [{"param": param, "message": message}] if param else [])


def error_response(message: str, status: int,
                   errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "status": status, "error": message,
                            "errors": errors or []}
    resp = jsonify(body)
    resp.status_code = status
    return resp


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    """Map ApiError, GraphFlowError and HTTP errors to the canonical JSON shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.message, exc.status, exc.errors)

    @app.errorhandler(GraphFlowError)
    def _graphflow_error(exc: GraphFlowError) -> Response:
        status = 404 if isinstance(exc, UnknownAnalysis) or type(exc).__name__.startswith(
            "Unknown") else 503 if isinstance(exc, StoreUnavailable) else 400
        return error_response(str(exc), status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return exc
        return error_response(exc.description or exc.name, exc.code or 500)

    @app.errorhandler(500)
    def _internal(exc: Exception) -> Response:  # reached for unhandled exceptions too
        original = getattr(exc, "original_exception", None) or exc
        logger.error("internal error on %s %s", request.method, request.path,
                     exc_info=original)
        return error_response("internal error (see the server log)", 500)
