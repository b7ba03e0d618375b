"""GDF, Gephi's plain-text format: ``nodedef>`` and ``edgedef>`` sections with typed columns.

Nodes: ``name`` (the IP), ``label``, ``color`` (``'r,g,b'``), ``width``/``height`` (from a
size rule), then every attribute column typed ``VARCHAR``, ``BOOLEAN``, ``INTEGER`` or
``DOUBLE`` (64-bit counters go out as ``DOUBLE`` when a value needs more than 32 bits, Gephi's
GDF ``INTEGER``; the host attribute ``name`` is written as ``host_name``, GDF's ``name`` being
the node id). Edges:
``node1``, ``node2``, ``directed``, ``weight`` (the flow count, summed over the selection),
``label`` (``tcp/22``), ``color``, then the edge attributes. Per-port graphs have one edge per
pair and port: AfterGlow's duplicate-edge mode (one edge per distinct label).

Strings are written the way Gephi's importer reads them (see
:func:`graphflow.exports.escape.gdf_field`): no line breaks, and quotes chosen so that commas
and quotes inside a DNS name cannot end the field.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from graphflow.exports.base import (
    Column,
    Output,
    WriteReport,
    attribute_columns,
    elapsed,
    map_batches,
    open_output,
)
from graphflow.exports.colors import to_rgb
from graphflow.exports.escape import as_text, gdf_field, join, write_concat
from graphflow.exports.model import ExportGraph

__all__ = ["rgb_field", "write_gdf"]

_TYPES = {"string": "VARCHAR", "bool": "BOOLEAN", "int": "INTEGER", "long": "DOUBLE",
          "double": "DOUBLE"}


#: attribute names GDF reserves for itself (``name`` is the node id column)
_RENAME = {"name": "host_name"}


def _gdf_type(c: Column) -> str:
    return "INTEGER" if c.kind == "long" and c.fits32 else _TYPES[c.kind]

Spec = tuple[str, Callable[[pa.Table], pa.Array]]


def rgb_field(colors: pa.Array | pa.ChunkedArray,
              rgb: Callable[[str | None], tuple[int, int, int] | None] = to_rgb,
              default: str = "") -> pa.Array:
    """Colours as GDF ``'r,g,b'`` fields (``default`` where there is none), once per value.

    >>> rgb_field(pa.array(["red", None, "#00ff00"]), default="'100,100,100'").to_pylist()
    ["'255,0,0'", "'100,100,100'", "'0,255,0'"]
    """
    arr = colors.combine_chunks() if isinstance(colors, pa.ChunkedArray) else colors
    enc = pc.dictionary_encode(arr)
    out = []
    for v in enc.dictionary.to_pylist():
        c = rgb(v)
        out.append(f"'{c[0]},{c[1]},{c[2]}'" if c else default)
    mapped = pa.array(out, pa.string())
    return pc.fill_null(pc.take(mapped, enc.indices), default)


def _plain(table: pa.Table, name: str, kind: str) -> pa.Array:
    col = table.column(name)
    if kind == "string":
        return gdf_field(col)
    return pc.fill_null(as_text(col), "")


def _size(table: pa.Table) -> pa.Array:
    return pc.fill_null(as_text(pc.round(table.column("size"), 2)), "")


def _string(col: str) -> Callable[[pa.Table], pa.Array]:
    def fn(t: pa.Table) -> pa.Array:
        return gdf_field(t.column(col))

    return fn


def _attr(col: Column) -> Callable[[pa.Table], pa.Array]:
    def fn(t: pa.Table) -> pa.Array:
        return _plain(t, col.name, col.kind)

    return fn


def _graphflow_specs(g: ExportGraph) -> tuple[list[Spec], list[Spec]]:
    n, e = g.nodes, g.edges
    node: list[Spec] = [("name VARCHAR", lambda t: gdf_field(t.column("id")))]
    if "label" in n.column_names:
        node.append(("label VARCHAR", lambda t: gdf_field(t.column("label"))))
    if "color" in n.column_names:
        node.append(("color VARCHAR", lambda t: rgb_field(t.column("color"))))
    if "size" in n.column_names:
        node += [("width DOUBLE", _size), ("height DOUBLE", _size)]
    for name in ("shape", "cluster"):
        if name in n.column_names:
            node.append((f"{name} VARCHAR", _string(name)))
    for col in attribute_columns(n):
        node.append((f"{_RENAME.get(col.name, col.name).lower()} {_gdf_type(col)}",
                     _attr(col)))
    edge: list[Spec] = [("node1 VARCHAR", lambda t: gdf_field(t.column("source"))),
                        ("node2 VARCHAR", lambda t: gdf_field(t.column("target"))),
                        ("directed BOOLEAN", lambda t: pa.repeat(pa.scalar("true"), t.num_rows))]
    weight = "flows" if "flows" in e.column_names else "size" if "size" in e.column_names else None
    if weight:
        edge.append(("weight DOUBLE", lambda t: pc.fill_null(as_text(t.column(weight)), "1")))
    if "label" in e.column_names:
        edge.append(("label VARCHAR", lambda t: gdf_field(t.column("label"))))
    if "color" in e.column_names:
        edge.append(("color VARCHAR", lambda t: rgb_field(t.column("color"))))
    for col in attribute_columns(e):
        edge.append((f"{col.name.lower()} {_gdf_type(col)}", _attr(col)))
    return node, edge


def _write_section(out: Output, header: str, table: pa.Table, specs: list[Spec]) -> None:
    out.text(header + ",".join(h for h, _ in specs) + "\n")

    def render(_: int, part: pa.Table) -> pa.Array:
        fields = [fn(part) for _, fn in specs]
        fields[-1] = join([fields[-1], "\n"])  # the line end, without copying whole lines
        return join(fields, ",")

    for lines in map_batches(table, render):
        write_concat(out, lines)


def write_gdf(g: ExportGraph, out: str | os.PathLike[str] | IO[bytes], *,
              specs: tuple[list[Spec], list[Spec]] | None = None) -> WriteReport:
    """Write ``g`` as GDF. ``specs`` (header, column function) replace the default layout
    (the ``afterglow`` command uses AfterGlow's own)."""
    t0 = time.perf_counter()
    node_specs, edge_specs = specs or _graphflow_specs(g)
    with open_output(out) as o:
        _write_section(o, "nodedef>", g.nodes, node_specs)
        _write_section(o, "edgedef>", g.edges, edge_specs)
    path = str(out) if isinstance(out, str | os.PathLike) else None
    return WriteReport("gdf", path, g.nodes.num_rows, g.edges.num_rows, o.bytes, elapsed(t0))
