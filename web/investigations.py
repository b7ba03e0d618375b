"""Saved investigations over HTTP (:mod:`graphflow.investigations`).

``GET /api/investigations``                the saved ones, then the built-in library
``GET /api/investigations/<slug>``         one, with ``url``: the graph page that reopens it
``POST /api/investigations``               save the current view (JSON: name, view, notes...)
``DELETE /api/investigations/<slug>``      delete a saved one
``GET /api/investigations/export``         ``?format=json|yaml&name=...`` as a file
``POST /api/investigations/import``        JSON ``{"text": ..., "overwrite": false}``

``view`` is the graph page's query string (or an object of its parameters); it is validated
with the graph's own parser (:class:`web.selection.Selection`) before anything is stored, so
a saved view always reopens. Writes need a JSON body (a cross-site form cannot send one).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Flask, Response, current_app, request

from graphflow.investigations import (
    FILTER_KEYS,
    LIST_KEYS,
    RULES_KEY,
    SELECTION_KEYS,
    STYLING_KEYS,
    Investigation,
    InvestigationError,
    UnknownInvestigation,
    delete_investigation,
    export_investigations,
    get_investigation,
    import_investigations,
    list_investigations,
    save_investigation,
    validate,
    view_url,
)
from web.errors import ApiError
from web.params import Args

__all__ = ["bp", "register"]

bp = Blueprint("investigations_api", __name__, url_prefix="/api")

_CLIENT_CHOICES = {
    "layout": ("fcose", "concentric", "dagre", "breadthfirst", "grid"),
    "color": ("auto", "finding", "degree", "bytes", "role", "country", "asn", "domain",
              "rules"),
    "size": ("degree", "bytes", "flows", "none"),
    "label": ("name", "ip", "both", "none"),
}
MAX_IMPORT = 200_000


def register(app: Flask) -> None:
    """Add the investigation routes to ``app``."""
    app.register_blueprint(bp)


def _ws() -> Any:
    from web.api import state

    return state().source.ws


def _ok(doc: dict[str, Any]) -> Response:
    from web.api import ok

    return ok(doc)


def _doc(inv: Investigation) -> dict[str, Any]:
    return {**inv.to_dict(), "url": view_url(_ws(), inv)}


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError("send JSON (Content-Type: application/json)", status=415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("body: expected a JSON object")
    return body


def _view_params(view: Any) -> dict[str, Any]:
    if isinstance(view, str):
        qs = view.split("?", 1)[1] if "?" in view else view
        parsed = parse_qs(qs, keep_blank_values=False)
        params: dict[str, Any] = {k: (v if k in LIST_KEYS else v[-1]) for k, v in parsed.items()}
    elif isinstance(view, dict):
        params = dict(view)
    else:
        raise ApiError("view: expected the graph page's query string or an object",
                       param="view")
    known = set(FILTER_KEYS) | set(SELECTION_KEYS) | set(STYLING_KEYS) | {RULES_KEY}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ApiError(f"view: unknown parameter(s) {', '.join(unknown)}", param="view")
    return params


def view_rules_doc(ws: Any, slug: str) -> dict[str, Any] | None:
    """The styling-rules document stored with investigation ``slug`` (None if it has none);
    an unknown investigation is a 404."""
    try:
        inv = get_investigation(ws, slug)
    except UnknownInvestigation as exc:
        raise ApiError(str(exc), status=404, param=RULES_KEY) from None
    rules = inv.styling.get("rules")
    return rules if isinstance(rules, dict) else None


def view_rules(args: Args) -> Any:
    """The rules set that styles a view: those of the investigation named by ``inv=`` when it
    stores some, else the server's (``graphflow serve --rules``; None = the defaults)."""
    slug = args.text(RULES_KEY, max_len=200)
    doc = view_rules_doc(_ws(), slug) if slug else None
    if doc is None:
        return current_app.config.get("GRAPHFLOW_RULES")
    from graphflow.rules import RulesError, parse_rules

    try:
        return parse_rules(doc, f"investigation {slug!r}: styling.rules")
    except RulesError as exc:  # validated when saved; a hand-edited file may still be wrong
        raise ApiError(str(exc), param=RULES_KEY) from None


def _check_view(params: dict[str, Any]) -> None:
    """The graph's own parser accepts it (same errors as /api/graph)."""
    from web.api import state
    from web.selection import Selection

    args = Args(params)
    Selection.from_args(args, state().limits)
    for k, choices in _CLIENT_CHOICES.items():
        args.choice(k, choices, choices[0])


@bp.get("/investigations")
def list_() -> Response:
    """Saved investigations, then the built-in ones."""
    return _ok({"investigations": [_doc(i) for i in list_investigations(_ws())]})


@bp.get("/investigations/export")
def export() -> Response:
    """Saved investigations (or the ``name``\\ d ones) as a JSON or YAML file."""
    args = Args(request.args)
    fmt = args.choice("format", ("json", "yaml"), "json")
    names = args.strings("name", max_len=200)
    try:
        text = export_investigations(_ws(), names or None, fmt=fmt)
    except UnknownInvestigation as exc:
        raise ApiError(str(exc), status=404, param="name") from None
    mime = "application/json" if fmt == "json" else "application/yaml"
    return Response(text, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename=investigations.{fmt}"})


@bp.get("/investigations/<slug>")
def get(slug: str) -> Response:
    try:
        return _ok({"investigation": _doc(get_investigation(_ws(), slug))})
    except UnknownInvestigation as exc:
        raise ApiError(str(exc), status=404, param="slug") from None


@bp.post("/investigations")
def save() -> Response:
    """Save a view: ``{"name", "view", "description", "notes", "window_days", "rules",
    "overwrite"}``."""
    body = _json_body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError("name: expected a non-empty string", param="name")
    params = _view_params(body.get("view", ""))
    _check_view(params)
    # a view styled by another investigation's rules keeps those rules (a copy: the new
    # investigation stands on its own when shared)
    rules = body.get("rules")
    rules_of = params.pop(RULES_KEY, None)
    if rules is None and rules_of:
        rules = view_rules_doc(_ws(), str(rules_of))
    overwrite = body.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise ApiError("overwrite: expected true or false", param="overwrite")
    try:
        inv = Investigation.from_query(
            name, params, description=body.get("description") or "",
            notes=body.get("notes") or "", window_days=body.get("window_days"))
        if rules is not None:
            d = inv.to_dict()
            del d["slug"], d["builtin"]
            d["styling"] = {**d["styling"], "rules": rules}
            inv = validate(d)
        saved = save_investigation(_ws(), inv, overwrite=overwrite)
    except InvestigationError as exc:
        status = 409 if "exists already" in str(exc) else 400
        raise ApiError(str(exc), status=status, param="name") from None
    return _ok({"investigation": _doc(saved)})


@bp.delete("/investigations/<slug>")
def delete(slug: str) -> Response:
    try:
        delete_investigation(_ws(), slug)
    except UnknownInvestigation as exc:
        raise ApiError(str(exc), status=404, param="slug") from None
    except InvestigationError as exc:
        raise ApiError(str(exc), status=403, param="slug") from None
    return _ok({"deleted": slug})


@bp.post("/investigations/import")
def import_() -> Response:
    """Import an exported document: ``{"text": "...", "overwrite": false}``."""
    body = _json_body()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError("text: expected the exported JSON or YAML as a string", param="text")
    if len(text) > MAX_IMPORT:
        raise ApiError(f"text: longer than {MAX_IMPORT} characters", param="text")
    overwrite = body.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise ApiError("overwrite: expected true or false", param="overwrite")
    try:
        from graphflow.investigations import parse_investigations

        for inv in parse_investigations(text, "import"):
            _check_view(inv.query())
        saved = import_investigations(_ws(), text, overwrite=overwrite, source="import")
    except InvestigationError as exc:
        status = 409 if "already saved" in str(exc) else 400
        raise ApiError(str(exc), status=status, param="text") from None
    return _ok({"imported": [_doc(i) for i in saved]})
