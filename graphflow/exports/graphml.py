"""GraphML: typed ``<key>`` declarations and one ``<data>`` per non-empty value.

Every node and edge column is written (the drawn ones, ``label color size shape cluster``,
too), typed ``boolean``, ``int``, ``long``, ``double`` or ``string``. Null and empty values
are left out (GraphML readers cannot tell an empty element from a missing one). Text is
XML-escaped with line breaks as character references, so values read back unchanged.
"""

from __future__ import annotations

import os
import time
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
    row_numbers,
)
from graphflow.exports.escape import join, write_concat, xml_escape
from graphflow.exports.model import ExportGraph

__all__ = ["write_graphml"]

_TYPES = {"string": "string", "bool": "boolean", "int": "int", "long": "long",
          "double": "double"}


def _data(t: pa.Table, cols: list[Column], prefix: str) -> list[object]:
    parts: list[object] = []
    for i, c in enumerate(cols):
        v = xml_escape(t.column(c.name))
        v = pc.if_else(pc.equal(v, ""), pa.scalar(None, pa.string()), v)
        one = pc.binary_join_element_wise(f'<data key="{prefix}{i}">', v, "</data>", "")
        parts.append(pc.fill_null(one, ""))
    return parts


def _write(o: Output, table: pa.Table, cols: list[Column], head: list[object] | None,
           prefix: str, edge: bool) -> None:
    def render(start: int, t: pa.Table) -> pa.Array:
        if edge:
            ids = pc.cast(row_numbers(start, t.num_rows), pa.string())
            parts: list[object] = ['    <edge id="e', ids, '" source="',
                                   xml_escape(t.column("source")), '" target="',
                                   xml_escape(t.column("target")), '">']
        else:
            parts = ['    <node id="', xml_escape(t.column("id")), '">']
        parts += _data(t, cols, prefix)
        parts.append("</edge>\n" if edge else "</node>\n")
        return join(parts)

    for lines in map_batches(table, render):
        write_concat(o, lines)


def write_graphml(g: ExportGraph, out: str | os.PathLike[str] | IO[bytes]) -> WriteReport:
    """Write ``g`` as GraphML (directed; parallel per-port edges each have their own id)."""
    t0 = time.perf_counter()
    ncols = attribute_columns(g.nodes, frozenset({"id"}))
    ecols = attribute_columns(g.edges, frozenset({"source", "target"}))
    with open_output(out) as o:
        o.text('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
               'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
        for prefix, what, cols in (("n", "node", ncols), ("e", "edge", ecols)):
            for i, c in enumerate(cols):
                o.text(f'  <key id="{prefix}{i}" for="{what}" attr.name="{c.name}" '
                       f'attr.type="{_TYPES[c.kind]}"/>\n')
        o.text('  <graph id="G" edgedefault="directed">\n')
        _write(o, g.nodes, ncols, None, "n", edge=False)
        _write(o, g.edges, ecols, None, "e", edge=True)
        o.text("  </graph>\n</graphml>\n")
    path = str(out) if isinstance(out, str | os.PathLike) else None
    return WriteReport("graphml", path, g.nodes.num_rows, g.edges.num_rows, o.bytes,
                       elapsed(t0))
