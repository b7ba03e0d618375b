"""Styling rules applied to an export graph: ``color``, ``size``, ``shape``, ``label`` and
``cluster`` columns added to its node and edge tables.

Node rules see every node column (``id``, host attributes, ``degree``, ``flows``...; an
AfterGlow rule's ``$fields[n]`` is the node's ``id``, an edge rule's ``$fields[0..2]`` are its
``source``, ``label`` and ``target``); a node
is a ``source`` where it has outgoing edges, a ``target`` where it has incoming ones, and a
``sourcetarget`` where it has both, so AfterGlow-style rules for sources and targets apply to
graphs from the workspace too. Edge rules see every edge column (``label`` is the own value).
Values that are not colours (a role, a country) get distinct colours from a fixed palette;
``invisible`` leaves a node (with its edges) or an edge out, as in AfterGlow.

Without a rules file, :data:`DEFAULT_RULES` colour high-value assets red, own hosts light blue
and everything else grey (own/hva come from the hosts table; without one every node is grey).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from graphflow.exports.colors import Palette
from graphflow.exports.model import ExportGraph
from graphflow.rules import RuleContext, RuleSet, evaluate, parse_rules

__all__ = ["DEFAULT_RULES", "style_graph"]

DEFAULT_RULES: RuleSet = parse_rules({"rules": [
    {"element": "node", "color": "red", "when": {"field": "hva", "equals": True}},
    {"element": "node", "color": "lightblue", "when": {"field": "own", "equals": True}},
    {"element": "node", "color": "gray80"},
]}, source="default rules")

_NODE_PROPS = ("color", "size", "shape", "label", "cluster")
_EDGE_PROPS = ("color", "size", "label")


def _set(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def style_graph(g: ExportGraph, rules: RuleSet | None = None, *,
                sets: Mapping[str, Collection[str]] | None = None,
                findings: Callable[[str], Collection[str]] | None = None) -> ExportGraph:
    """``g`` with style columns from ``rules`` (default :data:`DEFAULT_RULES`).

    >>> t = pa.table({"id": ["10.0.0.1", "10.0.0.2"], "label": ["10.0.0.1", "10.0.0.2"],
    ...               "out_degree": [1, 0], "in_degree": [0, 1], "role": ["web", "db"]})
    >>> e = pa.table({"source": ["10.0.0.1"], "target": ["10.0.0.2"], "label": ["tcp/80"]})
    >>> rs = parse_rules({"rules": [{"element": "node", "color": {"field": "role"}},
    ...                             {"element": "source", "shape": "box"}]})
    >>> s = style_graph(ExportGraph(t, e), rs)
    >>> s.nodes.column("color").to_pylist(), s.nodes.column("shape").to_pylist()
    (['steelblue', 'darkorange'], ['box', None])
    """
    rs = rules if rules is not None else DEFAULT_RULES
    palette = Palette()
    nodes, edges = g.nodes, g.edges
    # AfterGlow positions: every $fields[n] of a node rule is the node; an edge's are
    # (source, label, target), as a source-event-target line
    node_ctx = RuleContext(columns=("id", "id", "id"), own="id", sets=sets or {},
                           findings=findings)
    masks = {}
    if "out_degree" in nodes.column_names and "in_degree" in nodes.column_names:
        src = pc.greater(nodes.column("out_degree"), 0)
        dst = pc.greater(nodes.column("in_degree"), 0)
        masks = {"source": src, "target": dst, "sourcetarget": pc.and_(src, dst)}
    for prop in _NODE_PROPS:
        if not rs.has(prop, ("node", "source", "target", "sourcetarget")):
            continue
        values = evaluate(rs, prop, nodes, node_ctx, elements=("node",), masks=masks)
        if prop == "label" and "label" in nodes.column_names:
            values = pc.coalesce(values, nodes.column("label"))
        if prop == "color":
            values = palette.resolve(values)
        nodes = _set(nodes, prop, values)
    edge_ctx = RuleContext(columns=("source", "label", "target"), own="label",
                           sets=sets or {}, findings=findings)
    for prop in _EDGE_PROPS:
        if not rs.has(prop, ("edge",)):
            continue
        values = evaluate(rs, prop, edges, edge_ctx, elements=("edge",))
        if prop == "label" and "label" in edges.column_names:
            values = pc.coalesce(values, edges.column("label"))
        if prop == "color":
            values = palette.resolve(values)
        edges = _set(edges, prop, values)
    return _drop_invisible(g.replace(nodes=nodes, edges=edges))


def _drop_invisible(g: ExportGraph) -> ExportGraph:
    """Leave out nodes coloured ``invisible`` (and their edges), and invisible edges."""
    nodes, edges = g.nodes, g.edges
    keep = pa.chunked_array([pa.repeat(pa.scalar(True), edges.num_rows)])
    node_spells = g.node_spells
    if "color" in nodes.column_names:
        hidden = pc.fill_null(pc.equal(nodes.column("color"), "invisible"), False)
        if pc.any(hidden).as_py():
            gone = pc.filter(nodes.column("id"), hidden)
            nodes = nodes.filter(pc.invert(hidden))
            keep = pc.invert(pc.or_(pc.is_in(edges.column("source"), value_set=gone),
                                    pc.is_in(edges.column("target"), value_set=gone)))
            if node_spells is not None:
                node_spells = node_spells.filter(
                    pc.invert(pc.is_in(node_spells.column("id"), value_set=gone)))
    if "color" in edges.column_names:
        keep = pc.and_(keep, pc.invert(pc.fill_null(pc.equal(edges.column("color"),
                                                               "invisible"), False)))
    if pc.all(keep).as_py():
        return g.replace(nodes=nodes, node_spells=node_spells)
    kept = pc.indices_nonzero(keep.combine_chunks())
    edge_spells = g.edge_spells
    if edge_spells is not None:  # renumber spells to the remaining edges
        new = pc.index_in(edge_spells.column("edge"), value_set=kept)
        edge_spells = edge_spells.set_column(0, "edge", pc.cast(new, pa.int64())).filter(
            pc.is_valid(new))
    return g.replace(nodes=nodes, edges=edges.filter(keep), node_spells=node_spells,
                     edge_spells=edge_spells)
