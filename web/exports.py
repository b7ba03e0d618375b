"""Exports of the current view (what the browser shows, groups included).

* CSV (edges or nodes) and Cytoscape.js JSON are written here, always available;
* GDF, GEXF (dynamic, with the active days as spells), DOT and GraphML are written by
  :mod:`graphflow.exports` (styled by the same rules as the UI) when it is installed; without
  it the buttons are hidden and the page says why;
* PNG and SVG snapshots are made in the browser from the drawn graph.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from flask import Response

from graphflow.errors import GraphFlowError
from web.errors import ApiError
from web.features import feature_module, feature_reason
from web.investigations import view_rules
from web.params import Args

__all__ = ["LIBRARY_FORMATS", "NATIVE_FORMATS", "export_view", "library_writer"]

NATIVE_FORMATS = ("csv", "json")
LIBRARY_FORMATS = ("gdf", "gexf", "dot", "graphml")
MIME = {"csv": "text/csv", "json": "application/json", "gdf": "text/plain",
        "gexf": "application/xml", "dot": "text/vnd.graphviz", "graphml": "application/xml"}

_EDGE_COLS = ("source", "target", "dst_port", "proto", "flows", "src_bytes", "dst_bytes",
              "src_pkts", "dst_pkts", "first_seen", "last_seen", "days", "s0_flows",
              "rej_flows", "failed_flows", "syn_only_flows", "service_list")
_NODE_COLS = ("id", "kind", "label", "name", "dns", "own", "hva", "role", "country", "asn",
              "as_org", "domain", "address_class", "members", "in_degree", "out_degree",
              "in_flows", "out_flows", "bytes", "finding_role")


def _cell(v: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading quote.

    >>> _cell("=HYPERLINK(1)"), _cell(["a", "b"]), _cell(None), _cell(3)
    ("'=HYPERLINK(1)", 'a;b', '', '3')
    """
    if v is None:
        return ""
    if isinstance(v, list):
        v = ";".join(str(x) for x in v)
    text = str(v)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _csv(doc: dict[str, Any], what: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = _NODE_COLS if what == "nodes" else _EDGE_COLS
    w.writerow(cols)
    for row in doc["nodes" if what == "nodes" else "edges"]:
        w.writerow([_cell(row.get(c)) for c in cols])
    return buf.getvalue()


def _cytoscape_json(doc: dict[str, Any]) -> str:
    elements = {"nodes": [{"data": n} for n in doc["nodes"]],
                "edges": [{"data": {k: v for k, v in e.items() if k != "day_list"}}
                          for e in doc["edges"]]}
    return json.dumps({"elements": elements, "query": doc.get("query"),
                       "stats": doc.get("stats")}, ensure_ascii=False, indent=1)


def library_writer(fmt: str) -> Callable[..., Any] | None:
    """graphflow.exports' writer for ``fmt`` (``write_<fmt>(graph, out)``), if installed."""
    module = feature_module("exports")
    if module is None:
        return None
    writer = getattr(module, "FORMATS", {}).get(fmt)
    return writer if callable(writer) and hasattr(module, "ExportGraph") else None


def export_view(fmt: str, args: Args,
                graph_doc: Callable[..., dict[str, Any]]) -> Response:
    """The view of ``args`` (the /api/graph query string) as a ``fmt`` file download."""
    from web.styling import export_graph_of

    fmt = fmt.lower()
    if fmt not in NATIVE_FORMATS + LIBRARY_FORMATS:
        raise ApiError(f"export format {fmt[:20]!r}: expected one of "
                       f"{', '.join(NATIVE_FORMATS + LIBRARY_FORMATS)} (PNG and SVG are "
                       "made in the browser)", status=404, param="fmt")
    what = args.choice("what", ("edges", "nodes"), "edges")
    writer = library_writer(fmt) if fmt in LIBRARY_FORMATS else None
    if fmt in LIBRARY_FORMATS and writer is None:
        reason = feature_reason("exports") or f"graphflow.exports has no {fmt} writer"
        raise ApiError(f"{fmt} export is not available: {reason}", status=404)
    doc = graph_doc(args, with_days=fmt == "gexf")
    if fmt == "csv":
        body: str | bytes = _csv(doc, what)
    elif fmt == "json":
        body = _cytoscape_json(doc)
    else:
        assert writer is not None
        try:
            graph = export_graph_of(doc, view_rules(args), spells=fmt == "gexf")
            out = io.BytesIO()
            writer(graph, out)
        except GraphFlowError as exc:
            raise ApiError(f"{fmt} export failed: {exc}") from None
        body = out.getvalue()
    name = f"graphflow-view{'-nodes' if fmt == 'csv' and what == 'nodes' else ''}.{fmt}"
    resp = Response(body, mimetype=MIME[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp

