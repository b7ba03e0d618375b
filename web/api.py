"""The JSON API (``/api/...``): validate, call the library, return JSON.

Success bodies carry ``"ok": true``; errors have the one shape of :mod:`web.errors`.
Every endpoint is listed in docs/web.md and exercised by tests/web/test_api.py.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from graphflow.query import workspace_info
from web.cache import cached
from web.errors import ApiError
from web.features import features
from web.graphview import build_graph
from web.hva import hva_overview
from web.jsonable import jsonable
from web.params import Args, parse_ip
from web.selection import Limits, Selection
from web.source import DataSource

__all__ = ["bp", "WebState"]

bp = Blueprint("api", __name__, url_prefix="/api")

_NAME_RE = re.compile(r"^[a-z0-9_-]{1,64}$")


class WebState:
    """What the app serves: the data source and the limits (``app.extensions``)."""

    def __init__(self, source: DataSource, limits: Limits) -> None:
        self.source = source
        self.limits = limits


def state() -> WebState:
    st: WebState = current_app.extensions["graphflow"]
    return st


def ok(doc: dict[str, Any], *, clean: bool = False) -> Response:
    """A success response; ``clean`` says the document is JSON-ready already (fast path)."""
    body = {"ok": True, **doc}
    return jsonify(body if clean else jsonable(body))


def _args() -> Args:
    return Args(request.args)


def _page(args: Args) -> tuple[int, int]:
    lim = state().limits
    return (args.integer("limit", lim.page_default, lo=1, hi=lim.page_max),
            args.integer("offset", 0, lo=0, hi=10**12))


def _window(args: Args) -> tuple[dt.date | None, dt.date | None]:
    start, end = args.date("from"), args.date("to")
    if start and end and end < start:
        raise ApiError(f"to {end} is before from {start}", param="to")
    return start, end


@bp.get("/info")
def info() -> Response:
    """Workspace facts, its days (the time slider), optional features and limits."""
    st = state()
    snap = st.source.snapshot()
    with snap.lock:
        wsinfo = snap.cache.get("info")
    if wsinfo is None:
        wsinfo = workspace_info(st.source.ws).to_dict()
        with snap.lock:
            snap.cache["info"] = wsinfo
    lim = st.limits
    return ok({
        "workspace": wsinfo,
        "days": [{"day": d.isoformat(), "flows": n} for d, n in snap.days],
        "has_hosts": snap.has_hosts, "hosts_rows": snap.hosts_rows,
        "features": {k: f.to_dict() for k, f in features(snap.has_hosts).items()},
        "limits": {"default_edges": lim.default_edges, "max_edges": lim.max_edges,
                   "max_hops": lim.max_hops, "page_default": lim.page_default,
                   "page_max": lim.page_max},
    })


def graph_doc(args: Args, *, with_days: bool = False) -> dict[str, Any]:
    """The graph for a view state (shared by /api/graph and the exports); ``style=rules``
    adds each element's style from the styling rules."""
    st = state()
    sel = Selection.from_args(args, st.limits)
    styled = args.choice("style", ("builtin", "rules"), "builtin")
    if sel.finding:
        from web.findings import finding_doc, finding_flows_table

        finding = finding_doc(st.source, sel.finding)
        flows = finding_flows_table(st.source, sel.finding, st.limits.finding_flows)
        doc = build_graph(st.source, sel, st.limits, finding=finding, finding_flows=flows,
                          with_days=with_days)
        doc["finding"] = finding
        doc["stats"]["finding_flows"] = flows.num_rows
        doc["stats"]["finding_flows_truncated"] = flows.num_rows >= st.limits.finding_flows
        doc["query"] = {"kind": "finding", **finding["query"],
                        "cli": f"graphflow flows --finding {sel.finding}"}
    else:
        doc = build_graph(st.source, sel, st.limits, with_days=with_days)
        doc["query"] = {"kind": "selection", "cli": sel.cli(), "params": sel.to_dict()}
    doc["selection"] = sel.to_dict()
    if styled == "rules":
        from web.investigations import view_rules
        from web.styling import apply_rules

        doc["stats"]["styled_by_rules"] = apply_rules(doc, view_rules(args))
    return doc


@bp.get("/graph")
@cached
def graph() -> Response:
    """Nodes and edges for the view state in the query string (see docs/web.md)."""
    return ok(graph_doc(_args()), clean=True)


@bp.get("/hosts/<ip>")
@cached
def host(ip: str) -> Response:
    """The host panel: asset/GeoIP/DNS, ports served and used, peers, daily volume."""
    from web.panels import host_panel

    args = _args()
    start, end = _window(args)
    return ok(host_panel(state().source, parse_ip(ip), start, end,
                         top=args.integer("top", 15, lo=1, hi=200)))


@bp.get("/hosts/<ip>/findings")
@cached
def host_findings(ip: str) -> Response:
    """Findings (default parameters) that name this host as entity or member."""
    from web.findings import host_findings as run

    address = parse_ip(ip)
    if address not in state().source.snapshot().index:
        raise ApiError(f"host {address} does not occur in this workspace", status=404)
    return ok(run(state().source, address))


@bp.get("/edge")
@cached
def edge() -> Response:
    """One edge's figures: ``src``, ``dst`` and optionally ``port``/``proto``."""
    from web.panels import edge_panel

    args = _args()
    src, dst = args.text("src"), args.text("dst")
    if not src or not dst:
        raise ApiError("edge: src and dst are required", param="src" if not src else "dst")
    ports, protos = args.ports("port"), args.protos("proto")
    if len(ports) > 1 or len(protos) > 1:
        raise ApiError("edge: one port and one proto at most", param="port")
    start, end = _window(args)
    return ok(edge_panel(state().source, parse_ip(src, "src"), parse_ip(dst, "dst"),
                         ports[0] if ports else None, protos[0] if protos else None,
                         start, end))


@bp.get("/flows")
@cached
def flows() -> Response:
    """A page of flows (``limit`` <= page_max, ``offset``) with source file and line."""
    from web.panels import flows_page

    args = _args()
    limit, offset = _page(args)
    src, dst = args.text("src"), args.text("dst")
    hosts = args.hosts("host")
    if len(hosts) > 1:
        raise ApiError("flows: one host (IP or CIDR) at most", param="host")
    ports, protos = args.ports("port"), args.protos("proto")
    if len(ports) > 1 or len(protos) > 1:
        raise ApiError("flows: one port and one proto at most", param="port")
    start, end = _window(args)
    return ok(flows_page(
        state().source, src=parse_ip(src, "src") if src else None,
        dst=parse_ip(dst, "dst") if dst else None, host=hosts[0] if hosts else None,
        port=ports[0] if ports else None, proto=protos[0] if protos else None,
        start=start, end=end, limit=limit, offset=offset))


@bp.get("/search")
@cached
def search() -> Response:
    """Hosts by IP, CIDR or DNS/asset name (``*`` wildcards)."""
    from web.panels import search as run

    args = _args()
    q = args.text("q", max_len=200)
    if not q:
        raise ApiError("search: q is required", param="q")
    return ok(run(state().source, q, limit=args.integer("limit", 50, lo=1, hi=500)))


@bp.get("/analyses")
def analyses() -> Response:
    """The analysis registry: names, summaries, parameters and defaults."""
    from web.findings import list_analyses

    return ok({"analyses": list_analyses()})


@bp.get("/analyses/<name>")
@cached
def analysis(name: str) -> Response:
    """Run one analysis (parameters in the query string) and page its findings."""
    from web.findings import analysis_params, list_analyses, run

    if not _NAME_RE.match(name):
        raise ApiError(f"analysis {name[:80]!r}: not an analysis name", status=404,
                       param="name")
    name = name.replace("-", "_")
    args = _args()
    limit, offset = _page(args)
    params = analysis_params(name, args)
    docs = run(state().source, name, params)
    meta = next(a for a in list_analyses() if a["name"] == name)
    return ok({"analysis": meta, "params": params, "total": len(docs), "limit": limit,
               "offset": offset, "findings": docs[offset:offset + limit],
               "query": {"analysis": name, "params": params,
                         "cli": " ".join(["graphflow", "analyze", name.replace("_", "-")] + [
                             f"--{k.replace('_', '-')} {v}" for k, v in params.items()])}})


@bp.get("/findings/<finding_id>")
@cached
def finding(finding_id: str) -> Response:
    """One finding with the query behind it."""
    from web.findings import finding_doc

    return ok({"finding": finding_doc(state().source, finding_id)})


@bp.get("/findings/<finding_id>/flows")
@cached
def finding_flows(finding_id: str) -> Response:
    """A page of the flows behind a finding."""
    from web.findings import finding_flows_page

    limit, offset = _page(_args())
    return ok(finding_flows_page(state().source, finding_id, limit, offset))


@bp.get("/hva")
@cached
def hva() -> Response:
    """Every high-value asset with a summary of its neighbourhood."""
    args = _args()
    return ok(hva_overview(state().source, new_days=args.integer("new_days", 7, lo=1, hi=366)))


@bp.get("/export/<fmt>")
def export(fmt: str) -> Response:
    """The current view (same query string as /api/graph) as a file."""
    from web.exports import export_view

    return export_view(fmt, _args(), graph_doc)


@bp.post("/cypher")
def cypher() -> Response:
    """The read-only Cypher console (JSON body: query, params, limit)."""
    from web.console import run_console

    if not request.is_json:
        raise ApiError("send the query as JSON (Content-Type: application/json)", status=415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("body: expected a JSON object {\"query\": ...}", param="query")
    return ok(run_console(body))

