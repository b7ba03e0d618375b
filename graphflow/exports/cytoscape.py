"""Cytoscape.js JSON (``cy.json()`` / ``cytoscape({elements})`` layout), as the web UI loads it.

``{"data": {...}, "elements": {"nodes": [{"data": {...}}], "edges": [{"data": {...}}]}}``:
every column goes into ``data`` (``id``, ``source``, ``target``, ``label``, the attributes, and
the drawn ``color``/``size``/``shape``/``cluster`` for a stylesheet to map with
``data(color)``). Rows are encoded to JSON by DuckDB's ``to_json`` (vectorised, standard JSON
escaping); timestamps become ISO 8601 strings, non-finite numbers null.
"""

from __future__ import annotations

import json
import os
import time
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.exports.base import Output, WriteReport, elapsed, open_output, row_numbers
from graphflow.exports.escape import BATCH_ROWS, as_text, join, write_concat
from graphflow.exports.model import ExportGraph

__all__ = ["write_cytoscape"]


def _json_ready(t: pa.Table, edge_ids: bool) -> pa.Table:
    cols, names = [], []
    if edge_ids:
        ids = pc.cast(row_numbers(0, t.num_rows), pa.string())
        cols.append(join(["e", ids]))
        names.append("id")
    for name in t.column_names:
        c = t.column(name)
        if pa.types.is_timestamp(c.type) or pa.types.is_date(c.type):
            c = as_text(c)
        elif pa.types.is_floating(c.type):
            c = pc.if_else(pc.is_finite(c), c, pa.scalar(None, c.type))
        cols.append(c)
        names.append(name)
    return pa.table(cols, names=names)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(o: Output, con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("rows_t", table)
    fields = ", ".join(f"{_quote(n)} := {_quote(n)}" for n in table.column_names)
    sql = f"SELECT to_json({{'data': struct_pack({fields})}}) AS j FROM rows_t"  # noqa: S608
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader  # DuckDB 2.x / 1.x
    reader = fetch(BATCH_ROWS)
    first = True
    for batch in reader:
        j = batch.column(0)
        if len(j) == 0:
            continue
        sep = pa.repeat(pa.scalar(",\n"), len(j))
        if first:
            sep = pa.concat_arrays([pa.array([""]), sep.slice(1)])
            first = False
        write_concat(o, join([sep, j]))
    con.unregister("rows_t")


def write_cytoscape(g: ExportGraph, out: str | os.PathLike[str] | IO[bytes]) -> WriteReport:
    """Write ``g`` as Cytoscape.js elements JSON."""
    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # stdout may be the export
    try:
        with open_output(out) as o:
            head = {"format_version": "1.0", "generated_by": "GraphFlow",
                    "target_cytoscapejs_version": "~3", "data": {"name": g.title}}
            o.text(json.dumps(head)[:-1] + ', "elements": {"nodes": [\n')
            _rows(o, con, _json_ready(g.nodes, edge_ids=False))
            o.text('\n], "edges": [\n')
            _rows(o, con, _json_ready(g.edges, edge_ids=True))
            o.text("\n]}}\n")
    finally:
        con.close()
    path = str(out) if isinstance(out, str | os.PathLike) else None
    return WriteReport("cytoscape", path, g.nodes.num_rows, g.edges.num_rows, o.bytes,
                       elapsed(t0))

