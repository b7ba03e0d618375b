"""The pages: server-rendered shells (Jinja, autoescaped) that load their data from /api.

No data from the workspace is rendered into HTML here: the templates receive only the page
name and the optional features' availability; the scripts fetch JSON and build the DOM with
``textContent``.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template

from web.features import features

__all__ = ["bp"]

bp = Blueprint("ui", __name__, static_folder=None)

_NAME_RE = re.compile(r"^[a-z0-9_-]{1,64}$")


def _page(template: str, page: str, **extra: object) -> str:
    from web.api import state

    snap = state().source.snapshot()
    return render_template(template, page=page, features=features(snap.has_hosts), **extra)


@bp.get("/")
def graph() -> str:
    """The graph view (its state lives in the query string)."""
    from web.exports import LIBRARY_FORMATS, library_writer
    from web.features import feature_reason

    formats = {f: library_writer(f) is not None for f in LIBRARY_FORMATS}
    reason = feature_reason("exports") or "graphflow.exports offers no writer for a view yet"
    return _page("graph.html", "graph", export_formats=formats, export_reason=reason)


@bp.get("/findings")
def analyses() -> str:
    return _page("analyses.html", "findings")


@bp.get("/findings/<name>")
def analysis(name: str) -> str:
    if not _NAME_RE.match(name):
        abort(404)
    return _page("analysis.html", "findings", analysis=name)


@bp.get("/hva")
def hva() -> str:
    return _page("hva.html", "hva")


@bp.get("/console")
def console() -> str:
    return _page("console.html", "console")
