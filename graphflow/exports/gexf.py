"""GEXF 1.3 with time: a dynamic graph whose nodes and edges carry their active days as spells,
so Gephi's timeline shows the graph day by day.

* ``<graph mode="dynamic" timeformat="date" timerepresentation="interval">``; each node and
  edge has ``<spells>``, one ``<spell start end>`` per run of consecutive active days
  (``end`` is the day after the run's last day, so runs never touch);
* edge ``weight`` is the flow count summed over the selection (static, pre-summed);
* per-port graphs keep parallel edges apart: each edge has ``kind="tcp/22"``, which Gephi
  treats as an edge type and does not merge;
* attributes are static and typed (``boolean``, ``integer``, ``long``, ``double``,
  ``string``); colours and sizes go to ``viz:color`` / ``viz:size``.

Strings are XML-escaped (line breaks as character references, characters XML forbids as
U+FFFD), so any DNS name survives the trip through an XML reader unchanged.
"""

from __future__ import annotations

import datetime as dt
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
from graphflow.exports.colors import to_rgb
from graphflow.exports.escape import as_text, join, write_concat, xml_escape
from graphflow.exports.model import ExportGraph

__all__ = ["write_gexf"]

_TYPES = {"string": "string", "bool": "boolean", "int": "integer", "long": "long",
          "double": "double"}


def _attr_decl(cls: str, cols: list[Column]) -> str:
    lines = [f'    <attributes class="{cls}" mode="static">']
    for c in cols:
        lines.append(f'      <attribute id="{c.name}" title="{c.name}" type="{_TYPES[c.kind]}"/>')
    lines.append("    </attributes>")
    return "\n".join(lines) + "\n"


def _attvalues(t: pa.Table, cols: list[Column]) -> pa.Array:
    parts: list[object] = ["<attvalues>"]
    for c in cols:
        v = xml_escape(t.column(c.name))
        one = pc.binary_join_element_wise(f'<attvalue for="{c.name}" value="', v, '"/>', "")
        parts.append(pc.fill_null(one, ""))
    parts.append("</attvalues>")
    return join(parts)


def _viz(t: pa.Table, edge: bool = False) -> list[object]:
    parts: list[object] = []
    if "color" in t.column_names:
        enc = pc.dictionary_encode(t.column("color").combine_chunks())
        xml = []
        for v in enc.dictionary.to_pylist():
            c = to_rgb(v)
            xml.append(f'<viz:color r="{c[0]}" g="{c[1]}" b="{c[2]}"/>' if c else "")
        parts.append(pc.fill_null(pc.take(pa.array(xml, pa.string()), enc.indices), ""))
    if "size" in t.column_names:
        size = as_text(t.column("size"))
        tag = "thickness" if edge else "size"
        parts.append(pc.fill_null(
            pc.binary_join_element_wise(f'<viz:{tag} value="', size, '"/>', ""), ""))
    if "shape" in t.column_names and not edge:
        shape = pc.fill_null(as_text(t.column("shape")), "")
        gexf = pc.if_else(pc.is_in(shape, value_set=pa.array(["box", "rect", "rectangle",
                                                                "square", "Msquare"])),
                          "square", pc.if_else(pc.is_in(shape, value_set=pa.array(
                              ["diamond", "Mdiamond"])), "diamond", pc.if_else(
                              pc.is_in(shape, value_set=pa.array(["triangle", "invtriangle"])),
                              "triangle", pc.if_else(pc.equal(shape, ""), "", "disc"))))
        parts.append(pc.if_else(pc.equal(gexf, ""), "",
                                pc.binary_join_element_wise('<viz:shape value="', gexf, '"/>',
                                                            "")))
    return parts


def _spells_xml(spells: pa.Table | None, key: str, keys: pa.Array) -> pa.Array | str:
    """Per element, its ``<spells>`` element (aligned with ``keys``)."""
    if spells is None or spells.num_rows == 0:
        return ""
    one = join(['<spell start="', as_text(pc.cast(spells.column("start"), pa.string())),
                '" end="', as_text(pc.cast(spells.column("end"), pa.string())), '"/>'])
    grouped = pa.table({"k": spells.column(key), "s": one}).group_by("k", use_threads=False) \
        .aggregate([("s", "list")])
    xml = join(["<spells>", pc.binary_join(grouped.column("s_list"), ""), "</spells>"])
    idx = pc.index_in(keys, value_set=grouped.column("k"))
    return pc.fill_null(pc.take(xml, idx), "")


def write_gexf(g: ExportGraph, out: str | os.PathLike[str] | IO[bytes], *,
               dynamic: bool | None = None) -> WriteReport:
    """Write ``g`` as GEXF 1.3 (dynamic when it has spells, or when ``dynamic`` says so)."""
    t0 = time.perf_counter()
    dyn = dynamic if dynamic is not None else g.edge_spells is not None
    ncols = attribute_columns(g.nodes)
    ecols = attribute_columns(g.edges)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    mode = ('mode="dynamic" timeformat="date" timerepresentation="interval"' if dyn
            else 'mode="static"')
    with open_output(out) as o:
        o.text('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<gexf xmlns="http://gexf.net/1.3" xmlns:viz="http://gexf.net/1.3/viz" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" '
               'version="1.3">\n'
               f'  <meta lastmodifieddate="{today}"><creator>GraphFlow</creator>'
               f'<description>{xml_escape(pa.array([g.title])).to_pylist()[0]}</description>'
               '</meta>\n'
               f'  <graph defaultedgetype="directed" {mode}>\n')
        o.text(_attr_decl("node", ncols) + _attr_decl("edge", ecols))
        o.text("    <nodes>\n")
        _write_nodes(o, g, ncols, dyn)
        o.text("    </nodes>\n    <edges>\n")
        _write_edges(o, g, ecols, dyn)
        o.text("    </edges>\n  </graph>\n</gexf>\n")
    path = str(out) if isinstance(out, str | os.PathLike) else None
    return WriteReport("gexf", path, g.nodes.num_rows, g.edges.num_rows, o.bytes, elapsed(t0))


def _write_nodes(o: Output, g: ExportGraph, cols: list[Column], dyn: bool) -> None:
    spells = _spells_xml(g.node_spells, "id", g.nodes.column("id").combine_chunks()) if dyn \
        else ""

    def render(start: int, t: pa.Table) -> pa.Array:
        ids = t.column("id").combine_chunks()
        label = t.column("label") if "label" in t.column_names else ids
        parts: list[object] = ['      <node id="', xml_escape(ids), '" label="',
                               xml_escape(label), '">', _attvalues(t, cols)]
        if not isinstance(spells, str):
            parts.append(spells.slice(start, t.num_rows))
        parts += _viz(t)
        parts.append("</node>\n")
        return join(parts)

    for lines in map_batches(g.nodes, render):
        write_concat(o, lines)


def _write_edges(o: Output, g: ExportGraph, cols: list[Column], dyn: bool) -> None:
    e = g.edges
    spells = _spells_xml(g.edge_spells, "edge", row_numbers(0, e.num_rows)) if dyn else ""

    def render(start: int, t: pa.Table) -> pa.Array:
        ids = pc.cast(row_numbers(start, t.num_rows), pa.string())
        parts: list[object] = ['      <edge id="', ids, '" source="',
                               xml_escape(t.column("source")), '" target="',
                               xml_escape(t.column("target")), '"']
        if "label" in t.column_names:
            lab = xml_escape(t.column("label"))
            parts.append(pc.fill_null(pc.binary_join_element_wise(' label="', lab, '"', ""), ""))
            if g.per_port:
                parts.append(pc.fill_null(
                    pc.binary_join_element_wise(' kind="', lab, '"', ""), ""))
        weight = "flows" if "flows" in t.column_names else "size" if "size" in t.column_names \
            else None
        if weight:
            w = as_text(t.column(weight))
            parts.append(pc.fill_null(pc.binary_join_element_wise(' weight="', w, '"', ""), ""))
        parts += [">", _attvalues(t, cols)]
        if not isinstance(spells, str):
            parts.append(spells.slice(start, t.num_rows))
        parts += _viz(t, edge=True)
        parts.append("</edge>\n")
        return join(parts)

    for lines in map_batches(e, render):
        write_concat(o, lines)
