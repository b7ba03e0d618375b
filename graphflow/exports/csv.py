"""CSV node and edge lists: ``nodes.csv`` and ``edges.csv`` (RFC 4180 quoting, UTF-8).

Every column is written; timestamps as ISO 8601 UTC, booleans ``true``/``false``, lists
joined with ``;``. Values with commas, quotes or line breaks are quoted (quotes doubled), so
any CSV reader gets them back unchanged.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv

from graphflow.exports.base import WriteReport, elapsed, map_batches, open_output
from graphflow.exports.escape import as_text
from graphflow.exports.model import ExportGraph

__all__ = ["write_csv", "write_csv_table"]


def _csv_ready(t: pa.Table) -> pa.Table:
    cols = []
    for name in t.column_names:
        c = t.column(name)
        if pa.types.is_timestamp(c.type) or pa.types.is_list(c.type) or \
                pa.types.is_boolean(c.type):
            c = as_text(c)
        cols.append(c)
    return pa.table(cols, names=t.column_names)


def write_csv_table(table: pa.Table, out: str | os.PathLike[str] | IO[bytes]) -> int:
    """One table as CSV with a header line; returns the bytes written."""
    def render(start: int, part: pa.Table) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        opts = pacsv.WriteOptions(include_header=start == 0, quoting_style="needed")
        pacsv.write_csv(_csv_ready(part), sink, opts)
        return sink.getvalue()

    with open_output(out) as o:
        if table.num_rows == 0:
            o.write(memoryview(render(0, table)))
        for buf in map_batches(table, render):
            o.write(memoryview(buf))
    return o.bytes


def write_csv(g: ExportGraph, out_dir: str | os.PathLike[str]) -> WriteReport:
    """Write ``nodes.csv`` and ``edges.csv`` into ``out_dir`` (created if needed)."""
    t0 = time.perf_counter()
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    size = write_csv_table(g.nodes, d / "nodes.csv") + write_csv_table(g.edges, d / "edges.csv")
    return WriteReport("csv", str(d), g.nodes.num_rows, g.edges.num_rows, size, elapsed(t0))
