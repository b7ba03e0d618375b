"""SQL over flows: read-only DuckDB queries over the workspace tables.

Tables (the canonical names, :mod:`graphflow.schema`):

``flows``     one row per flow (``FLOW_FIELDS``) plus its ``day`` partition
``edges``     per (day, src_ip, dst_ip, dst_port, proto) aggregates (``EDGE_FIELDS``)
``hosts``     the enrichment table (``HOST_FIELDS``; empty before ``graphflow enrich``)
``rejects``   rejected input lines: ``source_file, source_line, reason, line``
``findings``  the cached analysis results of this workspace version (what ``graphflow
              analyze`` computed): ``id, analysis, entity, members, figures, evidence, params``
              (the last three as JSON text, readable with DuckDB's ``->>`` operators)

Safety, in layers. A query is parsed by DuckDB itself: exactly one statement, of type SELECT
(``WITH``, ``FROM``-first, ``DESCRIBE``/``SUMMARIZE`` included); its syntax tree
(``json_serialize_sql``) may name only the tables above, CTEs, and pure table functions
(:data:`ALLOWED_TABLE_FUNCTIONS`), never a file (``FROM '/etc/passwd'``) or a file reader
(``read_csv``, ``read_parquet``, ``glob``...). Then the connection itself is locked:
external access off except for the workspace's own table files (``allowed_paths``), Python
replacement scans off, configuration locked, so even a query that slipped through the first
check could not read another file, attach a database, load an extension or change a setting.
Each query runs under a time limit (the connection is interrupted from a timer thread) and a
row limit (``truncated`` says when rows were left off). Values go in as ``$name`` parameters.

>>> import tempfile
>>> from graphflow.workspace import Workspace
>>> ws = Workspace.open(tempfile.mkdtemp() + "/ws")
>>> run_sql(ws, "SELECT count(*) AS n FROM flows").rows
[(0,)]
>>> run_sql(ws, "DELETE FROM flows")
Traceback (most recent call last):
...
graphflow.sql.SqlRefused: only SELECT queries run here (this statement is DELETE)
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from graphflow.db import TABLES, parquet_source
from graphflow.errors import GraphFlowError
from graphflow.schema import HOST_FIELDS
from graphflow.workspace import Workspace

__all__ = ["ALLOWED_TABLE_FUNCTIONS", "SQL_TABLES", "SqlError", "SqlExample", "SqlRefused",
           "SqlResult", "SqlTimeout", "check_query", "get_example", "jsonable_value",
           "list_examples", "open_sql", "run_example", "run_sql"]

#: The tables a query may name (besides its own CTEs).
SQL_TABLES = ("flows", "edges", "hosts", "rejects", "findings")

#: Table functions that read nothing outside the database: generators and unnesting.
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})

DEFAULT_LIMIT = 1000
DEFAULT_TIMEOUT = 30.0
MAX_QUERY = 20_000

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SqlError(GraphFlowError):
    """A query that could not run (syntax, unknown column, bad parameter...)."""


class SqlRefused(SqlError):
    """A query refused by the read-only rules (not a SELECT, reads a file, ...)."""


class SqlTimeout(SqlError):
    """A query interrupted at its time limit."""


@dataclass
class SqlResult:
    """Columns (names and DuckDB types), rows (tuples), whether rows were left off."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    limit: int
    seconds: float

    def to_arrow(self) -> pa.Table:
        """The rows as an Arrow table (types inferred from the values)."""
        data = {c: [r[i] for r in self.rows] for i, c in enumerate(self.columns)}
        return pa.table(data) if self.columns else pa.table({})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``columns, types, rows`` (lists), ``truncated, limit, seconds``."""
        return {"columns": self.columns, "types": self.types,
                "rows": [[jsonable_value(v) for v in r] for r in self.rows],
                "truncated": self.truncated, "limit": self.limit,
                "seconds": round(self.seconds, 3)}


def jsonable_value(v: Any) -> Any:
    """A DuckDB value as JSON data: times as ISO text (UTC ``Z``), decimals as numbers."""
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return v.isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, list | tuple):
        return [jsonable_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable_value(x) for k, x in v.items()}
    return v


# ---- the read-only check -------------------------------------------------------------------
def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def check_query(con: duckdb.DuckDBPyConnection, query: str) -> set[str]:
    """Refuse anything but one SELECT over the workspace tables; return its parameter names.

    Raises :class:`SqlRefused` with the reason, :class:`SqlError` on a syntax error.
    """
    if not query.strip():
        raise SqlRefused("empty query")
    if len(query) > MAX_QUERY:
        raise SqlRefused(f"query longer than {MAX_QUERY} characters")
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise SqlError(f"syntax error: {_clean(exc)}") from None
    if len(statements) != 1:
        raise SqlRefused(f"one statement at a time (got {len(statements)})")
    (st,) = statements
    if st.type != duckdb.StatementType.SELECT:
        kind = {"MULTI": "PIVOT or another multi-statement form"}.get(
            st.type.name, st.type.name.replace("_", " "))
        raise SqlRefused(f"only SELECT queries run here (this statement is {kind})")
    raw = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    tree = json.loads(raw[0]) if raw else {"error": True}
    if tree.get("error"):
        raise SqlRefused("only plain SELECT queries run here (DuckDB could not represent this "
                         f"one: {tree.get('error_message', 'unsupported statement')})")
    for node in _walk(tree):
        ntype = node.get("type")
        if ntype == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            fname = str(fn.get("function_name", "")).lower()
            if fname not in ALLOWED_TABLE_FUNCTIONS:
                raise SqlRefused(f"table function {fname}() is not allowed: queries read only "
                                 f"the workspace tables ({', '.join(SQL_TABLES)})")
        elif ntype == "BASE_TABLE":
            tname = str(node.get("table_name", ""))
            if node.get("catalog_name") or node.get("schema_name") or not _IDENT.match(tname):
                where = ".".join(str(node.get(k)) for k in ("catalog_name", "schema_name",
                                                            "table_name") if node.get(k))
                raise SqlRefused(f"{where!r} is not a workspace table: queries read only "
                                 f"{', '.join(SQL_TABLES)} (no files, no other databases)")
    return set(st.named_parameters)


def _clean(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


# ---- the connection ------------------------------------------------------------------------
def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _rejects_table(ws: Workspace) -> pa.Table:
    cols: dict[str, list[Any]] = {"source_file": [], "source_line": [], "reason": [], "line": []}
    for path in sorted((ws.version_dir / "rejects").glob("*.tsv")):
        with open(path, encoding="utf-8") as fh:
            next(fh, None)  # header
            for raw in fh:
                parts = raw.rstrip("\n").split("\t")
                if len(parts) != 4:
                    continue
                cols["source_file"].append(parts[0])
                cols["source_line"].append(int(parts[1]) if parts[1].isdigit() else None)
                cols["reason"].append(parts[2])
                cols["line"].append(parts[3].replace("\\t", "\t").replace("\\n", "\n")
                                    .replace("\\\\", "\\"))
    return pa.table(cols, schema=pa.schema([("source_file", pa.string()),
                                            ("source_line", pa.int64()),
                                            ("reason", pa.string()), ("line", pa.string())]))


def _findings_table(ws: Workspace) -> pa.Table:
    rows: dict[str, list[Any]] = {k: [] for k in ("id", "analysis", "entity", "members",
                                                  "figures", "evidence", "params")}
    vdir = ws.root / "findings" / f"v{ws.version:06d}"
    seen: set[tuple[str, str]] = set()
    for path in sorted(vdir.glob("*.json")) if vdir.exists() else []:
        try:
            docs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for d in docs if isinstance(docs, list) else []:
            params = json.dumps((d.get("evidence") or {}).get("params"), sort_keys=True)
            if (d["id"], params) in seen:
                continue
            seen.add((d["id"], params))
            rows["id"].append(d["id"])
            rows["analysis"].append(d["analysis"])
            rows["entity"].append(d["entity"])
            rows["members"].append(list(d.get("members") or []))
            rows["figures"].append(json.dumps(d.get("figures") or {}, sort_keys=True))
            rows["evidence"].append(json.dumps(d.get("evidence") or {}, sort_keys=True))
            rows["params"].append(params)
    schema = pa.schema([("id", pa.string()), ("analysis", pa.string()), ("entity", pa.string()),
                        ("members", pa.list_(pa.string())), ("figures", pa.string()),
                        ("evidence", pa.string()), ("params", pa.string())])
    return pa.table(rows, schema=schema)


def open_sql(ws: Workspace, *, memory_limit: str = "1GB",
             threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A locked-down in-memory connection with the five tables of :data:`SQL_TABLES`.

    ``flows``/``edges``/``hosts`` are views over the current version's Parquet files;
    ``rejects`` and ``findings`` are materialised. Afterwards external access is off except
    for those files, and the configuration is locked.
    """
    con = duckdb.connect(":memory:", config={"python_enable_replacements": False})
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    vdir = ws.version_dir
    allowed: list[str] = []
    for name, fields in TABLES.items():
        files = ws.table_files(name, vdir)
        allowed += [str(p) for p in files]
        # table name from TABLES, paths listed from the workspace and quoted
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {parquet_source(files, fields)}")  # noqa: S608
    hosts = sorted((vdir / "hosts").glob("*.parquet"))
    if hosts:
        allowed += [str(p) for p in hosts]
        con.execute("CREATE VIEW hosts AS SELECT * FROM read_parquet("  # noqa: S608
                    + "[" + ", ".join(_sql_str(str(p)) for p in hosts) + "])")
    else:
        empty = pa.schema([f.arrow() for f in HOST_FIELDS]).empty_table()
        con.register("_gf_hosts", empty)
        con.execute("CREATE TABLE hosts AS SELECT * FROM _gf_hosts")
        con.unregister("_gf_hosts")
    for name, table in (("rejects", _rejects_table(ws)), ("findings", _findings_table(ws))):
        con.register("_gf_tmp", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _gf_tmp")  # noqa: S608 - constant
        con.unregister("_gf_tmp")
    if allowed:
        con.execute("SET allowed_paths = [" + ", ".join(_sql_str(p) for p in allowed) + "]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


def _params(names: set[str], given: Mapping[str, Any] | None) -> dict[str, Any]:
    given = dict(given or {})
    for k in given:
        if not _PARAM.match(k):
            raise SqlError(f"parameter {k!r}: expected a name like days or server")
    missing = sorted(names - set(given))
    if missing:
        raise SqlError("missing parameter(s): " + ", ".join(f"${m}" for m in missing)
                       + " (pass them as name=value)")
    unknown = sorted(set(given) - names)
    if unknown:
        raise SqlError("the query has no parameter(s): " + ", ".join(f"${u}" for u in unknown))
    return {k: given[k] for k in names}


def run_sql(ws: Workspace, query: str, params: Mapping[str, Any] | None = None, *,
            limit: int = DEFAULT_LIMIT, timeout: float | None = DEFAULT_TIMEOUT,
            con: duckdb.DuckDBPyConnection | None = None) -> SqlResult:
    """Run one read-only SELECT over the workspace tables.

    ``params`` binds ``$name`` placeholders; ``limit`` (>= 1) caps the rows returned
    (``truncated`` is true when more were there); ``timeout`` (seconds, None = none) interrupts
    the query. ``con`` reuses a connection from :func:`open_sql` (not shared between threads).
    Raises :class:`SqlRefused`, :class:`SqlTimeout` or :class:`SqlError`.
    """
    if limit < 1:
        raise SqlError(f"limit {limit}: expected at least 1")
    own = con is None
    c = open_sql(ws) if con is None else con
    try:
        names = check_query(c, query)
        bound = _params(names, params)
        t0 = time.monotonic()
        timer: threading.Timer | None = None
        fired = threading.Event()
        if timeout is not None and timeout > 0:
            def _stop() -> None:
                fired.set()
                c.interrupt()

            timer = threading.Timer(timeout, _stop)
            timer.daemon = True
            timer.start()
        try:
            cur = c.execute(query, bound) if bound else c.execute(query)
            desc = cur.description or []
            rows = cur.fetchmany(limit + 1)
        except duckdb.InterruptException:
            raise SqlTimeout(f"query stopped at its time limit ({timeout:g} s); narrow it "
                             "(a day range, a host) or raise --timeout") from None
        except duckdb.PermissionException as exc:
            raise SqlRefused(f"refused: {_clean(exc)}") from None
        except duckdb.Error as exc:
            if fired.is_set():
                raise SqlTimeout(f"query stopped at its time limit ({timeout:g} s)") from None
            raise SqlError(_clean(exc)) from None
        finally:
            if timer is not None:
                timer.cancel()
        seconds = time.monotonic() - t0
        return SqlResult(columns=[d[0] for d in desc], types=[str(d[1]) for d in desc],
                         rows=[tuple(r) for r in rows[:limit]], truncated=len(rows) > limit,
                         limit=limit, seconds=seconds)
    finally:
        if own:
            c.close()


# ---- examples ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SqlExample:
    """A documented query shipped in ``graphflow/sql_examples/NAME.sql``.

    Its header comment gives ``title``, a description, and one ``-- param NAME[=DEFAULT]:
    help`` line per parameter (no default: required).
    """

    name: str
    title: str
    description: str
    params: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    sql: str = ""

    def bind(self, given: Mapping[str, str] | None = None) -> dict[str, str]:
        """Defaults overlaid with ``given``; unknown or missing names raise SqlError."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise SqlError(f"example {self.name}: unknown parameter(s) {', '.join(unknown)} "
                           f"(known: {', '.join(self.params) or 'none'})")
        out: dict[str, str] = {}
        for k, (default, _help) in self.params.items():
            v = given.get(k, default)
            if v is None:
                raise SqlError(f"example {self.name}: parameter {k} is required ({_help})")
            out[k] = v
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description,
                "params": {k: {"default": d, "help": h} for k, (d, h) in self.params.items()},
                "sql": self.sql}


_PARAM_LINE = re.compile(r"^param\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*:\s*(.*)$")


def _parse_example(name: str, text: str) -> SqlExample:
    title = ""
    desc: list[str] = []
    params: dict[str, tuple[str | None, str]] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        m = _PARAM_LINE.match(body)
        if m:
            params[m.group(1)] = (m.group(2), m.group(3).strip())
        elif not title:
            title = body
        elif body:
            desc.append(body)
    return SqlExample(name=name, title=title, description=" ".join(desc), params=params,
                      sql=text)


def list_examples() -> list[SqlExample]:
    """The shipped example queries, by name."""
    folder = resources.files("graphflow") / "sql_examples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            out.append(_parse_example(entry.name[:-4], entry.read_text(encoding="utf-8")))
    return out


def get_example(name: str) -> SqlExample:
    """One example by name (``-`` and ``_`` are the same)."""
    wanted = name.replace("-", "_")
    for ex in list_examples():
        if ex.name == wanted:
            return ex
    raise SqlError(f"no example query {name!r} (known: "
                   f"{', '.join(e.name for e in list_examples())})")


def run_example(ws: Workspace, name: str, params: Mapping[str, str] | None = None, *,
                limit: int = DEFAULT_LIMIT, timeout: float | None = DEFAULT_TIMEOUT,
                progress: Callable[[int], None] | None = None) -> SqlResult:
    """Run a shipped example with its defaults overlaid by ``params``."""
    ex = get_example(name)
    result = run_sql(ws, ex.sql, ex.bind(params), limit=limit, timeout=timeout)
    if progress is not None:
        progress(len(result.rows))
    return result


def example_dir() -> Path:
    """Where the example files are (for the docs)."""
    return Path(str(resources.files("graphflow") / "sql_examples"))
