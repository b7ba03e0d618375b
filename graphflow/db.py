"""DuckDB over the workspace Parquet: the embedded query engine.

DuckDB is chosen over pandas for whole-dataset work because it scans only the columns and
day partitions a query needs, runs on both cores and spills to disk under a memory limit,
so a 10M-flow workspace is never loaded into memory at once. Values always go in as
parameters; table names come only from :data:`TABLES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from graphflow.schema import EDGE_FIELDS, FLOW_FIELDS, Field
from graphflow.workspace import Workspace

__all__ = ["TABLES", "connect", "fetch_arrow", "parquet_source"]

#: table name -> canonical fields
TABLES: dict[str, tuple[Field, ...]] = {"flows": FLOW_FIELDS, "edges": EDGE_FIELDS}

_DUCK_TYPES = {
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "uint16": "USMALLINT",
    "int64": "BIGINT",
    "date32[day]": "DATE",
}


def _sql_list(paths: Sequence[Path]) -> str:
    # Paths are ours (listed from the workspace), quoted as SQL string literals.
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def parquet_source(paths: Sequence[Path], fields: tuple[Field, ...]) -> str:
    """A FROM-clause item reading ``paths`` (hive ``day`` partitions), or an empty table."""
    if paths:
        return (f"read_parquet({_sql_list(paths)}, hive_partitioning = true, "
                "hive_types = {'day': DATE})")
    cols = ", ".join(
        f"CAST(NULL AS {_DUCK_TYPES[str(f.type)]}) AS {f.name}" for f in fields)
    if not any(f.name == "day" for f in fields):
        cols += ", CAST(NULL AS DATE) AS day"
    return f"(SELECT {cols} WHERE false)"


def connect(ws: Workspace, *, memory_limit: str = "1GB", threads: int | None = None,
            temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with views ``flows`` and ``edges`` over ``ws``.

    Time zone is UTC, so ``CAST(ts AS DATE)`` is the UTC day.
    """
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # it would write to stdout
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir is not None:
        con.execute("SET temp_directory = '" + str(temp_dir).replace("'", "''") + "'")
    vdir = ws.version_dir
    for name, fields in TABLES.items():
        files = ws.table_files(name, vdir)
        # name from TABLES, paths listed from the workspace and quoted: no data in the text
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {parquet_source(files, fields)}")  # noqa: S608
    return con


def fetch_arrow(con: duckdb.DuckDBPyConnection, sql: str,
                params: list[Any] | None = None) -> pa.Table:
    """Run ``sql`` with ``params`` and return the result as an Arrow table (DuckDB 1.x/2.x)."""
    rel = con.sql(sql, params=params or None)
    fn = getattr(rel, "to_arrow_table", None) or rel.arrow
    table: pa.Table = fn()
    return table
