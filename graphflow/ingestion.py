"""Ingest files into a workspace: read, stage, deduplicate, write, rebuild edges, commit.

One call of :func:`ingest_files` is one transaction: either every readable file's new flows
become visible together, or (killed, crashed) nothing changes. The invariant
``read == loaded + rejected + duplicates`` holds for every file and for the totals.

Deduplication is on ``flow_key`` (see :mod:`graphflow.schema`), against the flows already in
the workspace for the same days and within the batch being ingested, so re-loading a file,
loading the same records under another name or header layout, or loading a half-overlapping
file adds only the flows not seen before.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import fnmatch
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import ingest as _ingest
from graphflow.config import Config
from graphflow.db import fetch_arrow
from graphflow.edges import DAY_SQL, EDGE_AGG_SQL
from graphflow.errors import GraphFlowError, InputFormatError
from graphflow.schema import FLOW_FIELDS
from graphflow.workspace import Workspace
from ingest.base import NATIVE_ID, Reject

if not getattr(_ingest, "__graphflow__", False):  # pragma: no cover - packaging guard
    raise ImportError(f"'ingest' resolves to {_ingest.__file__}, not GraphFlow's readers")

__all__ = ["FileReport", "IngestReport", "ingest_files"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, int], None]
"""progress(bytes_done, bytes_total, records_done)"""

_KEY_FIELDS = ("src_ip", "src_port", "dst_ip", "dst_port", "proto")
_COUNTER_FIELDS = ("src_bytes", "dst_bytes", "src_pkts", "dst_pkts", "state", "tcp_flags")


@dataclass
class FileReport:
    path: str
    format: str | None = None
    sha256: str | None = None
    bytes: int = 0
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None
    #: reader counters: stitched, flipped, skipped_non_ip, packets, ...
    notes: dict[str, int] = field(default_factory=dict)


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    seconds: float = 0.0
    version: int = 0
    #: reader counters summed over files (stitched, flipped, packets, ...)
    notes: dict[str, int] = field(default_factory=dict)
    #: wall-clock seconds per phase: read (parse + stage), dedup (flows written), edges, commit
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> list[FileReport]:
        return [f for f in self.files if f.error]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = len(self.errors)
        return d


def _expand(paths: Iterable[str | os.PathLike[str]],
            fmt: str | None) -> list[tuple[str, str | None]]:
    """Files to read, each with an error message if it cannot be read at all."""
    patterns: tuple[str, ...] = ()
    readers = [_ingest.get_reader(fmt)] if fmt else list(_ingest.READERS.values())
    for r in readers:
        patterns += r.dir_patterns
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(
                str(f.absolute()) for f in path.rglob("*")
                if f.is_file() and any(fnmatch.fnmatch(f.name, pat) for pat in patterns))
            if not found:
                out.append((str(path.absolute()), "directory holds no flow files (looked for "
                            + ", ".join(patterns) + ")"))
            candidates: list[tuple[str, str | None]] = [(f, None) for f in found]
        elif path.exists():
            candidates = [(str(path.absolute()), None)]
        else:
            candidates = [(str(path.absolute()), "no such file or directory")]
        for f, err in candidates:
            real = os.path.realpath(f)
            if real in seen:
                continue
            seen.add(real)
            out.append((f, err))
    return out


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _checkpoint(name: str) -> None:
    """Fault-injection point for the crash tests: pause here when asked to."""
    if os.environ.get("GRAPHFLOW_FAULT_POINT") == name:
        marker = os.environ.get("GRAPHFLOW_FAULT_FILE")
        if marker:
            Path(marker).write_text(name)
        time.sleep(float(os.environ.get("GRAPHFLOW_FAULT_SLEEP", "60")))


def _write_rejects(fh: Any, rejects: list[Reject]) -> None:
    for r in rejects:
        text = r.text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        fh.write(f"{r.path}\t{r.line}\t{r.reason}\t{text}\n")


def _key_sql() -> str:
    def lit(col: str) -> str:
        return f"coalesce(CAST({col} AS VARCHAR), '')"

    ident = ", '|', ".join(lit(c) for c in _KEY_FIELDS)
    counters = ", '|', ".join(lit(c) for c in _COUNTER_FIELDS)
    return (
        "md5(concat(CAST(epoch_us(ts) AS VARCHAR), '|', " + ident + ", '|', "
        f"CASE WHEN {NATIVE_ID} IS NOT NULL THEN concat('id:', {NATIVE_ID}) "
        "ELSE concat('c:', CAST(CAST(round(coalesce(duration, -1) * 1e6) AS BIGINT) AS VARCHAR), "
        f"'|', {counters}) END))"
    )


_FLOW_COLS = ", ".join(f.name for f in FLOW_FIELDS if f.name != "flow_key")
_DAYS_SQL = f"SELECT DISTINCT {DAY_SQL} FROM read_parquet($raw)"  # noqa: S608 - constants
_WITH_DAY_SQL = "SELECT *, " + DAY_SQL + " AS day FROM ({rows}) u"  # noqa: S608 - constants
#: staged rows whose content hash is unique in this ingest: flow_key is the hash itself
_UNIQUE_SQL = f"""
    SELECT {_FLOW_COLS}, _h AS flow_key FROM read_parquet($raw)
    WHERE hash(_h) NOT IN (SELECT hh FROM dup)
"""  # noqa: S608 - constants only
#: rows whose hash repeats: number the copies within each file, keep the first of each key
_REPEATS_SQL = f"""
    UNION ALL
    SELECT {_FLOW_COLS}, flow_key FROM (
      SELECT *, CASE WHEN _occ = 0 THEN _h ELSE _h || '.' || CAST(_occ AS VARCHAR) END
                    AS flow_key
      FROM (SELECT *, row_number() OVER (PARTITION BY _fileno, _h
                                         ORDER BY source_line) - 1 AS _occ
            FROM read_parquet($raw) WHERE hash(_h) IN (SELECT hh FROM dup))
    ) QUALIFY row_number() OVER (PARTITION BY flow_key ORDER BY _fileno, source_line) = 1
"""  # noqa: S608 - constants only


def _finalize(ws: Workspace, stage: Path, cfg: Config, con: duckdb.DuckDBPyConnection,
              report: IngestReport, tx: str) -> tuple[dict[str, list[tuple[Path, str]]],
                                                      dict[str, set[str]]]:
    """Deduplicate the staged flows and write them, and the touched days' edges, as Parquet.

    Fast path: a staged row whose content hash ``_h`` is unique in the batch has
    ``flow_key = _h``; only rows whose hash repeats (identical records within a file, or the
    same record in two files) go through the window functions that number occurrences and
    keep the first copy. Rows whose key is already in the workspace (same days) are dropped.
    """
    raw = [str(p) for p in sorted((stage / "raw").glob("*/*.parquet"))]
    add: dict[str, list[tuple[Path, str]]] = {"flows": [], "edges": [], "rejects": []}
    drop: dict[str, set[str]] = {"edges": set()}
    if not raw:
        report.timings["edges"] = 0.0
        return add, drop
    con.execute("CREATE TEMP TABLE dup AS SELECT hash(_h) AS hh FROM read_parquet($raw) "
                "GROUP BY 1 HAVING count(*) > 1", {"raw": raw})
    (n_dup,) = con.execute("SELECT count(*) FROM dup").fetchone() or (0,)
    days = [r[0] for r in con.execute(_DAYS_SQL, {"raw": raw}).fetchall()]
    day_names = {f"day={d.isoformat()}" for d in days}
    existing = [str(f) for f in ws.flow_files() if f.parent.name in day_names]
    params: dict[str, Any] = {"raw": raw}
    body = _WITH_DAY_SQL.format(rows=_UNIQUE_SQL + (_REPEATS_SQL if n_dup else ""))
    if existing:
        body += " ANTI JOIN (SELECT flow_key FROM read_parquet($existing)) old USING (flow_key)"
        params["existing"] = existing
    out_dir = stage / "out"
    # Only constants, our transaction id and the (quoted) staging path are in the text;
    # file lists are parameters.
    con.execute(
        f"COPY ({body}) TO '{_q(out_dir)}' (FORMAT parquet, PARTITION_BY (day), "
        f"COMPRESSION snappy, FILENAME_PATTERN 'part-{tx}-{{i}}', ROW_GROUP_SIZE 122880)",
        params)
    new_files = sorted(out_dir.glob("day=*/*.parquet")) if out_dir.exists() else []
    loaded: dict[str, int] = {}
    if new_files:
        for path, n in con.execute(
                "SELECT source_file, count(*) FROM read_parquet($new) GROUP BY 1",
                {"new": [str(f) for f in new_files]}).fetchall():
            loaded[path] = int(n)
    for fr in report.files:
        fr.loaded = loaded.get(fr.path, 0)
        fr.duplicates = fr.read - fr.rejected - fr.loaded
    for f in new_files:
        add["flows"].append((f, f"{f.parent.name}/{f.name}"))
    # edges: rebuild every touched day from all of that day's flows (old + new)
    touched = sorted({f.parent.name for f in new_files})
    t_edges = time.monotonic()
    if touched:
        day_files = [f for f in ws.flow_files() if f.parent.name in touched] + new_files
        edge_dir = stage / "edges"
        con.execute(
            f"COPY (WITH f AS (SELECT * FROM read_parquet($files)) {EDGE_AGG_SQL}) "  # noqa: S608
            f"TO '{_q(edge_dir)}' (FORMAT parquet, PARTITION_BY (day), COMPRESSION snappy, "
            f"FILENAME_PATTERN 'edges-{tx}-{{i}}')", {"files": [str(f) for f in day_files]})
        for f in sorted(edge_dir.glob("day=*/*.parquet")):
            add["edges"].append((f, f"{f.parent.name}/{f.name}"))
        for f in ws.edge_files():
            if f.parent.name in touched:
                drop["edges"].add(f"{f.parent.name}/{f.name}")
    report.timings["edges"] = round(time.monotonic() - t_edges, 3)
    return add, drop


def _q(path: Path) -> str:
    return str(path).replace("'", "''")


def _sql_files(paths: list[Path]) -> str:
    return "[" + ", ".join(f"'{_q(p)}'" for p in paths) + "]"


def ingest_files(
    paths: Iterable[str | os.PathLike[str]],
    workspace: Workspace | str | os.PathLike[str],
    *,
    fmt: str | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
    options: dict[str, Any] | None = None,
) -> IngestReport:
    """Read flow files (or directories of them) into the workspace, in one transaction.

    Malformed lines are counted, reported with file and line, and written to a rejects file
    in the workspace; a file that cannot be read at all is reported in ``FileReport.error``
    and the other files still load. Returns counts per file and in total.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "conn.log").write_text(
    ...     "#separator \\\\x09\\n#fields\\tts\\tuid\\tid.orig_h\\tid.orig_p\\tid.resp_h\\t"
    ...     "id.resp_p\\tproto\\n1700000000.5\\tC1\\t10.0.0.1\\t5555\\t10.0.0.2\\t22\\ttcp\\n"
    ...     "oops\\n")
    >>> r = ingest_files([d / "conn.log"], d / "ws")
    >>> (r.read, r.loaded, r.rejected, r.duplicates)
    (2, 1, 1, 0)
    >>> ingest_files([d / "conn.log"], d / "ws").loaded
    0
    """
    cfg = config or Config()
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
    started = time.monotonic()
    report = IngestReport()
    files = _expand(paths, fmt)
    total = sum(os.path.getsize(f) for f, err in files if err is None and os.path.isfile(f))
    done = 0
    records = 0

    def tick(n: int, recs: int = 0) -> None:
        nonlocal done, records
        done += n
        records += recs
        if progress is not None:
            progress(done, total, records)

    with ws.lock():
        stage = ws.new_staging()
        tx = stage.name
        try:
            rejects_path = stage / f"rejects-{tx}.tsv"
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            writer = _BatchWriter()
            with open(rejects_path, "w", encoding="utf-8") as rej_fh:
                rej_fh.write("source_file\tsource_line\treason\tline\n")
                for fileno, (path, err) in enumerate(files):
                    fr = FileReport(path=path, error=err)
                    report.files.append(fr)
                    if err:
                        continue
                    _stage_file(fr, fileno, stage, cfg, fmt, rej_fh, pool, writer, tick,
                                options)
                    _checkpoint("parse")
            writer.close()
            pool.shutdown()
            report.timings["read"] = round(time.monotonic() - started, 3)
            report.rejected = sum(f.rejected for f in report.files)
            report.read = sum(f.read for f in report.files)
            for f in report.files:
                for k, v in f.notes.items():
                    report.notes[k] = report.notes.get(k, 0) + v
            con = duckdb.connect(str(stage / "tx.duckdb"))
            try:
                con.execute("SET enable_progress_bar = false")  # it would write to stdout
                con.execute("SET TimeZone = 'UTC'")
                con.execute(f"SET memory_limit = '{cfg.duckdb_memory_limit}'")
                con.execute(f"SET temp_directory = '{_q(stage / 'spill')}'")
                con.execute("SET preserve_insertion_order = false")
                add, drop = _finalize(ws, stage, cfg, con, report, tx)
                report.timings["dedup_write"] = round(
                    time.monotonic() - started - report.timings["read"]
                    - report.timings.get("edges", 0.0), 3)
            finally:
                con.close()
            report.loaded = sum(f.loaded for f in report.files)
            report.duplicates = sum(f.duplicates for f in report.files)
            if report.rejected:
                add["rejects"].append((rejects_path, rejects_path.name))
            ledger = ws.ledger()
            entry = {
                "tx": tx,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "files": [asdict(f) for f in report.files],
                "read": report.read, "loaded": report.loaded,
                "duplicates": report.duplicates, "rejected": report.rejected,
            }
            ledger["ingests"].append(entry)
            for f in report.files:
                if f.sha256:
                    ledger["files"].setdefault(f.sha256, {"paths": [], "loaded": 0})
                    rec = ledger["files"][f.sha256]
                    if f.path not in rec["paths"]:
                        rec["paths"].append(f.path)
                    rec["loaded"] += f.loaded
            if all(f.error for f in report.files):
                report.version = ws.version  # nothing could be read: nothing to record
            else:
                report.version = ws.commit(add=add, drop=drop, ledger=ledger,
                                           checkpoint=_checkpoint)
            if report.rejected:
                report.rejects_file = str(ws.root / "rejects" / rejects_path.name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    if report.loaded:
        _rebuild_hosts(ws)
    report.seconds = time.monotonic() - started
    report.timings["commit"] = round(report.seconds - sum(report.timings.values()), 3)
    return report


class _BatchWriter:
    """Computes each batch's content hash and writes it to the staging area, in a worker
    thread, so that parsing the next block overlaps with hashing and writing this one (both
    DuckDB and Parquet release the GIL)."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._pending: list[concurrent.futures.Future[None]] = []
        self._con: duckdb.DuckDBPyConnection | None = None
        self._sql = f"SELECT {_key_sql()} AS _h FROM batch"  # noqa: S608 - constants only

    def _write(self, table: pa.Table, fileno: int, dest: Path) -> None:
        if self._con is None:
            self._con = duckdb.connect()
            self._con.execute("SET enable_progress_bar = false")
            self._con.execute("SET threads = 1")
        self._con.register("batch", table)
        try:
            h = fetch_arrow(self._con, self._sql).column(0)
        finally:
            self._con.unregister("batch")
        table = table.drop_columns([NATIVE_ID]).append_column("_h", h).append_column(
            "_fileno", pa.array(np.full(table.num_rows, fileno, dtype=np.int32)))
        pq.write_table(table, dest, compression="lz4")

    def submit(self, table: pa.Table, fileno: int, dest: Path) -> None:
        # at most two batches in flight: bounded memory whatever the file size
        while len(self._pending) >= 2:
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(self._write, table, fileno, dest))

    def wait(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown()
            if self._con is not None:
                self._con.close()


def _rebuild_hosts(ws: Workspace) -> None:
    """Rebuild the hosts table (enrichment with the remembered settings) after new flows."""
    from graphflow.hosts import build_hosts

    try:
        build_hosts(ws)
    except GraphFlowError as exc:
        logger.warning("hosts table not rebuilt: %s", exc)


def _stage_file(fr: FileReport, fileno: int, stage: Path, cfg: Config, fmt: str | None,
                rej_fh: Any, pool: concurrent.futures.ThreadPoolExecutor,
                writer: _BatchWriter, tick: Callable[..., None],
                options: dict[str, Any] | None = None) -> None:
    """Read one file into ``stage/raw/<fileno>/``; on a file-level error keep nothing of it."""
    out = stage / "raw" / f"{fileno:06d}"
    try:
        fr.bytes = os.path.getsize(fr.path)
        reader = _ingest.get_reader(fmt) if fmt else _ingest.detect_format(fr.path)
        fr.format = reader.name
        digest = pool.submit(_sha256, fr.path)
        out.mkdir(parents=True)
        pending: list[Reject] = []
        for i, batch in enumerate(_ingest.read_file(reader, fr.path, block_bytes=cfg.batch_bytes,
                                                    progress=tick, options=options)):
            fr.read += batch.records
            tick(0, batch.records)
            fr.rejected += len(batch.rejects)
            for k, v in batch.notes.items():
                fr.notes[k] = fr.notes.get(k, 0) + v
            pending.extend(batch.rejects)
            if batch.table.num_rows:
                writer.submit(batch.table, fileno, out / f"b{i:06d}.parquet")
        writer.wait()
        fr.sha256 = digest.result()
        _write_rejects(rej_fh, pending)
    except GraphFlowError as exc:
        writer.wait()
        fr.error = str(exc) if isinstance(exc, InputFormatError) else f"{fr.path}: {exc}"
        fr.read = fr.rejected = 0
        fr.notes = {}
        shutil.rmtree(out, ignore_errors=True)
    except OSError as exc:
        writer.wait()
        fr.error = f"{fr.path}: cannot read: {exc.strerror or exc}"
        fr.read = fr.rejected = 0
        fr.notes = {}
        shutil.rmtree(out, ignore_errors=True)
