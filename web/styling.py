"""The view as an :class:`graphflow.exports.ExportGraph`, styled by the rules file.

The same rules drive the exports and the web UI (:mod:`graphflow.rules`, the exports issue).
When that module is installed, :func:`apply_rules` adds a ``style`` (colour as ``#rrggbb``,
size in pixels, Cytoscape.js shape, label, the rule's reason) to each node and edge of a view;
:func:`export_graph_of` builds the export graph of exactly what the browser shows (groups
included), with the active days as GEXF spells.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from graphflow.errors import GraphFlowError
from web.features import feature_module, feature_reason

__all__ = ["apply_rules", "export_graph_of", "load_rules_file"]

#: Graphviz/AfterGlow shapes -> Cytoscape.js shapes.
SHAPES = {"box": "rectangle", "rect": "rectangle", "rectangle": "rectangle", "square": "rectangle",
          "circle": "ellipse", "ellipse": "ellipse", "oval": "ellipse", "point": "ellipse",
          "diamond": "diamond", "triangle": "triangle", "invtriangle": "vee",
          "hexagon": "hexagon", "octagon": "octagon", "pentagon": "pentagon", "star": "star",
          "house": "tag", "trapezium": "round-rectangle", "parallelogram": "rhomboid",
          "round-rectangle": "round-rectangle", "rhomboid": "rhomboid"}

_NODE_TEXT = ("dns",)
_DROP = ("style", "dcolor", "dsize", "dshape", "dlabel")


def load_rules_file(path: str | Path | None) -> Any:
    """The rules of ``path`` (None: the library's defaults); errors name the file and line."""
    if path is None:
        return None
    rules = feature_module("rules")
    if rules is None:
        raise GraphFlowError(f"--rules needs the styling rules module: {feature_reason('rules')}")
    return rules.load_rules(path)


def _node_table(nodes: list[dict[str, Any]], label: str = "name") -> pa.Table:
    rows = []
    for n in nodes:
        r = {k: v for k, v in n.items() if k not in _DROP and k != "kind"}
        r["id"] = n["id"]
        r["kind"] = n.get("kind", "host")
        dns = n.get("dns")
        r["dns"] = ";".join(dns) if isinstance(dns, list) else dns
        name = n.get("name") or (dns[0] if isinstance(dns, list) and dns else None)
        r["label"] = n.get("label") if n.get("kind") == "group" else (name or n["id"])
        r["out_degree"] = n.get("out_degree", 0)
        r["in_degree"] = n.get("in_degree", 0)
        r["degree"] = r["out_degree"] + r["in_degree"]
        r["flows"] = n.get("out_flows", 0) + n.get("in_flows", 0)
        rows.append(r)
    return pa.Table.from_pylist(rows) if rows else pa.table({"id": pa.array([], pa.string())})


def _edge_table(edges: list[dict[str, Any]]) -> pa.Table:
    rows = []
    for e in edges:
        r = {k: v for k, v in e.items() if k not in _DROP and k not in ("day_list", "id")}
        if e.get("proto"):
            r["label"] = e["proto"] + ("" if e.get("dst_port") is None else f"/{e['dst_port']}")
        else:
            services = e.get("service_list") or []
            extra = (e.get("services") or 0) - len(services)
            r["label"] = " ".join(services) + (f" +{extra}" if extra > 0 else "")
        r["service_list"] = " ".join(e.get("service_list") or [])
        rows.append(r)
    if not rows:
        return pa.table({"source": pa.array([], pa.string()),
                         "target": pa.array([], pa.string())})
    return pa.Table.from_pylist(rows)


def _spells(doc: dict[str, Any]) -> tuple[pa.Table, pa.Table]:
    """Runs of consecutive active days per node and per edge (row number)."""
    def runs(days: list[str]) -> list[tuple[dt.date, dt.date]]:
        out: list[tuple[dt.date, dt.date]] = []
        for d in sorted({dt.date.fromisoformat(x) for x in days}):
            if out and out[-1][1] == d:
                out[-1] = (out[-1][0], d + dt.timedelta(days=1))
            else:
                out.append((d, d + dt.timedelta(days=1)))
        return out

    e_rows: list[tuple[int, dt.date, dt.date]] = []
    node_days: dict[str, set[str]] = {}
    for i, e in enumerate(doc["edges"]):
        days = e.get("day_list") or []
        for a, b in runs(days):
            e_rows.append((i, a, b))
        for end in (e["source"], e["target"]):
            node_days.setdefault(end, set()).update(days)
    n_rows = [(n, a, b) for n, days in node_days.items() for a, b in runs(list(days))]
    edge_spells = pa.table({"edge": pa.array([r[0] for r in e_rows], pa.int64()),
                            "start": pa.array([r[1] for r in e_rows], pa.date32()),
                            "end": pa.array([r[2] for r in e_rows], pa.date32())})
    node_spells = pa.table({"id": pa.array([r[0] for r in n_rows], pa.string()),
                            "start": pa.array([r[1] for r in n_rows], pa.date32()),
                            "end": pa.array([r[2] for r in n_rows], pa.date32())})
    return node_spells, edge_spells


def export_graph_of(doc: dict[str, Any], rules: Any = None, *, spells: bool = False) -> Any:
    """The styled ExportGraph of a view document (None when the exports are missing)."""
    exports = feature_module("exports")
    if exports is None:
        return None
    per_port = bool(doc.get("selection", {}).get("per") == "port")
    node_spells, edge_spells = _spells(doc) if spells else (None, None)
    g = exports.ExportGraph(_node_table(doc["nodes"]), _edge_table(doc["edges"]),
                            node_spells=node_spells, edge_spells=edge_spells, per_port=per_port,
                            title="GraphFlow view")
    return exports.style_graph(g, rules)


def _hex(color: Any) -> str | None:
    if not color:
        return None
    try:
        from graphflow.exports.colors import to_rgb
    except ImportError:
        return None
    rgb = to_rgb(str(color))
    return "#{:02x}{:02x}{:02x}".format(*rgb) if rgb else None


def _size(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    px = v * 40 if v <= 5 else v  # Graphviz sizes are inches; larger numbers are pixels
    return max(8.0, min(90.0, px))


def apply_rules(doc: dict[str, Any], rules: Any = None) -> bool:
    """Add ``style`` to every node and edge of ``doc`` from the rules; False when the
    rules/exports modules are missing (the UI then hides the "styling rules" mode)."""
    g = export_graph_of(doc, rules)
    if g is None:
        return False
    for items, table, props in ((doc["nodes"], g.nodes, ("color", "size", "shape", "label")),
                                (doc["edges"], g.edges, ("color", "size", "label"))):
        cols = {p: table.column(p).to_pylist() for p in props if p in table.column_names}
        for i, item in enumerate(items):
            style: dict[str, Any] = {}
            if "color" in cols and cols["color"][i]:
                style["color"] = _hex(cols["color"][i])
                style["rule"] = str(cols["color"][i])
            if "size" in cols:
                style["size"] = _size(cols["size"][i])
            if "shape" in cols and cols["shape"][i]:
                style["shape"] = SHAPES.get(str(cols["shape"][i]).lower(), "ellipse")
            if "label" in cols and cols["label"][i] is not None:
                style["label"] = str(cols["label"][i])
            item["style"] = style
    return True
