"""Graphviz DOT: labelled edges, colours, shapes and sizes from the styling rules, clusters.

Nodes carry ``label`` (or ``xlabel`` in AfterGlow's layout), ``fillcolor`` (rule ``color``),
``shape``, ``width``/``height`` (rule ``size``, inches, with ``fixedsize``); nodes with a
``cluster`` value are drawn inside ``subgraph "cluster_N"`` boxes labelled with the value.
Edges carry ``label`` (``tcp/22``), ``color`` and ``penwidth`` (rule ``size``). Every ID and
string is double-quoted and escaped (:func:`graphflow.exports.escape.dot_quote`), so a hostile
DNS name cannot end a string or trigger a Graphviz escape. Render with
``dot -Tsvg graph.dot -o graph.svg`` (or ``-Tpng``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from graphflow.errors import GraphFlowError
from graphflow.exports.base import Output, WriteReport, elapsed, map_batches, open_output
from graphflow.exports.escape import as_text, dot_quote, dot_string, join, write_concat
from graphflow.exports.model import ExportGraph

__all__ = ["DotLayout", "render_dot", "write_dot"]


@dataclass(frozen=True)
class DotLayout:
    """The fixed parts of a DOT file: graph name, header statements, label attribute."""

    name: str = "graphflow"
    header: tuple[str, ...] = (
        "graph [fontsize=10, labelloc=t, overlap=false, outputorder=edgesfirst];",
        'node [shape=ellipse, style=filled, fillcolor="gray80", fontsize=10];',
        'edge [fontsize=8, color="gray40", arrowsize=0.6];',
    )
    graph_label: str | None = None
    #: node attribute that shows the label: "label" (inside) or "xlabel" (beside)
    label_attr: str = "label"
    #: extra attributes per node kind column value (AfterGlow draws events as boxes)
    kind_attrs: dict[str, str] = field(default_factory=dict)
    #: attributes every edge with any attribute gets (AfterGlow: style=solid with a colour)
    edge_style: str | None = None
    size_format: str = "{:.2f}"


def _attr(name: str, values: pa.ChunkedArray, keep_empty: bool = False) -> pa.Array:
    """``, name="value"`` where there is a value (an empty one only with ``keep_empty``)."""
    text = as_text(values)
    present = pc.is_valid(text)
    if not keep_empty:
        present = pc.and_(present, pc.not_equal(text, ""))
    return pc.if_else(pc.fill_null(present, False), join([f", {name}=", dot_quote(text)]), "")


def _sizes(col: pa.ChunkedArray | pa.Array, fmt: str) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    enc = pc.dictionary_encode(arr)
    text = [None if v is None else '"' + fmt.format(v) + '"' for v in enc.dictionary.to_pylist()]
    return pc.take(pa.array(text, pa.string()), enc.indices)


def _node_lines(t: pa.Table, layout: DotLayout) -> pa.Array:
    parts: list[object] = []
    if "kind" in t.column_names and layout.kind_attrs:
        kinds = pc.fill_null(t.column("kind"), "")
        extra: pa.Array | str = ""
        for kind, attrs in layout.kind_attrs.items():
            extra = pc.if_else(pc.equal(kinds, kind), attrs, extra)
        parts.append(extra)
    if "color" in t.column_names:
        parts.append(_attr("fillcolor", t.column("color")))
    if "label" in t.column_names:
        parts.append(_attr(layout.label_attr, t.column("label"), keep_empty=True))
    if "size" in t.column_names:
        size = _sizes(t.column("size"), layout.size_format)
        parts.append(pc.if_else(pc.is_valid(size), join([", width=", size, ", height=", size]),
                                ""))
    if "shape" in t.column_names:
        parts.append(_attr("shape", t.column("shape")))
    if "url" in t.column_names:
        parts.append(_attr("URL", t.column("url")))
    body = join(parts) if parts else pa.repeat(pa.scalar(""), t.num_rows)
    body = pc.replace_substring_regex(body, r"^, ", "")
    return join([dot_quote(t.column("id")), pc.if_else(pc.equal(body, ""), "",
                                                       join([" [", body, "]"])), "\n"])


def _edge_lines(t: pa.Table, layout: DotLayout) -> pa.Array:
    parts: list[object] = []
    if "color" in t.column_names:
        color = _attr("color", t.column("color"))
        if layout.edge_style:
            color = pc.if_else(pc.equal(color, ""), "", join([color, f", {layout.edge_style}"]))
        parts.append(color)
    if "size" in t.column_names:
        positive = pc.if_else(pc.fill_null(pc.greater(t.column("size"), 0), False),
                              t.column("size"), pa.scalar(None, pa.float64()))
        size = _sizes(pc.cast(positive, pa.float64()), "{:g}")
        parts.append(pc.if_else(pc.is_valid(size), join([", penwidth=", size]), ""))
    if "label" in t.column_names:
        parts.append(_attr("label", t.column("label"), keep_empty=True))
    body = join(parts) if parts else pa.repeat(pa.scalar(""), t.num_rows)
    body = pc.replace_substring_regex(body, r"^, ", "")
    return join([dot_quote(t.column("source")), " -> ", dot_quote(t.column("target")),
                 pc.if_else(pc.equal(body, ""), "", join([" [", body, "]"])), "\n"])


def _write_nodes(o: Output, nodes: pa.Table, layout: DotLayout) -> None:
    def render(_: int, t: pa.Table) -> pa.Array:
        return _node_lines(t, layout)

    if "cluster" not in nodes.column_names:
        for lines in map_batches(nodes, render):
            write_concat(o, lines)
        return
    has = pc.fill_null(pc.not_equal(pc.fill_null(nodes.column("cluster"), ""), ""), False)
    for lines in map_batches(nodes.filter(pc.invert(has)), render):
        write_concat(o, lines)
    clustered = nodes.filter(has).sort_by([("cluster", "ascending")])
    names = clustered.column("cluster").combine_chunks()
    values = pc.unique(names)
    starts = pc.index_in(values, value_set=names)  # first row of each (sorted) cluster
    bounds = sorted(s.as_py() for s in starts) + [clustered.num_rows]
    for i in range(len(bounds) - 1):
        part = clustered.slice(bounds[i], bounds[i + 1] - bounds[i])
        label = dot_string(part.column("cluster")[0].as_py())
        o.text(f'subgraph "cluster_{i}" {{\ngraph [label={label}];\n')
        write_concat(o, _node_lines(part, layout))
        o.text("}\n")


def write_dot(g: ExportGraph, out: str | os.PathLike[str] | IO[bytes], *,
              layout: DotLayout | None = None) -> WriteReport:
    """Write ``g`` as a Graphviz digraph."""
    t0 = time.perf_counter()
    lay = layout or DotLayout()
    with open_output(out) as o:
        o.text(f"digraph {dot_string(lay.name)} {{\n")
        for line in lay.header:
            o.text(line + "\n")
        if lay.graph_label is not None:
            o.text(f"graph [label={dot_string(lay.graph_label)}];\n")
        _write_nodes(o, g.nodes, lay)
        for lines in map_batches(g.edges, lambda _, t: _edge_lines(t, lay)):
            write_concat(o, lines)
        o.text("}\n")
    path = str(out) if isinstance(out, str | os.PathLike) else None
    return WriteReport("dot", path, g.nodes.num_rows, g.edges.num_rows, o.bytes, elapsed(t0))


def render_dot(dot_file: str | os.PathLike[str], fmt: str = "svg",
               out: str | os.PathLike[str] | None = None, *, engine: str = "dot") -> Path:
    """Render a DOT file with the real Graphviz (``svg``, ``png``, ``pdf``...).

    Graphviz's warnings are errors here: a file that makes it warn is not silently drawn
    wrong. Returns the rendered file's path.
    """
    exe = shutil.which(engine)
    if exe is None:
        raise GraphFlowError(f"Graphviz '{engine}' is not installed (apt-get install graphviz)")
    target = Path(out) if out is not None else Path(dot_file).with_suffix("." + fmt)
    proc = subprocess.run([exe, f"-T{fmt}", str(dot_file), "-o", str(target)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or proc.stderr.strip():
        raise GraphFlowError(f"{dot_file}: Graphviz {engine} -T{fmt} failed: "
                             f"{proc.stderr.strip() or f'exit {proc.returncode}'}")
    return target
