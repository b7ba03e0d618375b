"""Ingest files into a workspace: read, key and write, deduplicate, rebuild edges, commit.

One call of :func:`ingest_files` is one transaction: either every readable file's new flows
become visible together, or (killed, crashed) nothing changes. The invariant
``read == loaded + rejected + duplicates`` holds for every file and for the totals.

Deduplication is on ``flow_key`` (see :mod:`graphflow.schema`), against the flows already in
the workspace for the same days and within the batch being ingested, so re-loading a file,
loading the same records under another name or header layout, or loading a half-overlapping
file adds only the flows not seen before.

How (one pass in the common case): the reader parses a block while a worker thread computes
the previous block's flow keys (:mod:`graphflow.flowkey`) and writes its flows straight into
day-partitioned Parquet in the staging area. Those files are committed as they are when no
content hash repeated and none of their days already held flows; otherwise they are the input
of an exact deduplication in DuckDB (window functions over the repeats, anti-join against the
workspace's flows of the same days), with a memory limit.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import fnmatch
import hashlib
import logging
import os
import shutil
import threading
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
from graphflow.edges import DAY_SQL, EDGE_AGG_SQL
from graphflow.errors import GraphFlowError, InputFormatError
from graphflow.flowkey import flow_keys
from graphflow.schema import FLOW_FIELDS, FLOW_SCHEMA
from graphflow.workspace import Workspace, sync_files
from ingest.base import NATIVE_ID, Reject

if not getattr(_ingest, "__graphflow__", False):  # pragma: no cover - packaging guard
    raise ImportError(f"'ingest' resolves to {_ingest.__file__}, not GraphFlow's readers")

__all__ = ["FileReport", "IngestReport", "ingest_files"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, int], None]
"""progress(bytes_done, bytes_total, records_done); one call at a time, but not always from the
caller's thread (the readers read ahead in threads of their own)."""


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
    #: wall-clock seconds per phase: read (parse, keys and the day-partitioned write, overlapped),
    #: dedup_write (the exact path, when needed), edges, commit, hosts (the hosts table rebuild)
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


_FLOW_COLS = ", ".join(f.name for f in FLOW_FIELDS if f.name != "flow_key")
_WITH_DAY_SQL = "SELECT *, " + DAY_SQL + " AS day FROM ({rows}) u"  # noqa: S608 - constants
#: written rows whose content hash is unique in this ingest: flow_key is the hash itself
_UNIQUE_SQL = f"""
    SELECT {_FLOW_COLS}, _h AS flow_key FROM raw
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
            FROM raw WHERE hash(_h) IN (SELECT hh FROM dup))
    ) QUALIFY row_number() OVER (PARTITION BY flow_key ORDER BY _fileno, source_line) = 1
"""  # noqa: S608 - constants only
#: Parquet columns worth dictionary-encoding (few distinct values); the others (times,
#: counters, flow_key) would only pay for a dictionary that overflows.
_DICT_COLUMNS = ["src_ip", "dst_ip", "dst_port", "proto", "service", "state",
                 "tcp_flags", "label", "source_file"]
#: Snappy everywhere but on flow_key: hex digests barely compress (-5%) and were a fifth of
#: the writer's CPU.
_COMPRESSION = {f.name: "none" if f.name == "flow_key" else "snappy" for f in FLOW_FIELDS}
#: Min/max statistics where a reader can prune row groups with them (time, addresses, ports,
#: counters); not on digests, free text and paths, where they only cost.
_STATISTICS = [f.name for f in FLOW_FIELDS
               if f.name not in ("flow_key", "tcp_flags", "service", "label", "source_file")]
#: Day-partition writers kept open at once while writing (files of other days get closed and
#: a new part is started if that day comes back).
_MAX_OPEN_DAYS = 32
_US_PER_DAY = 86_400_000_000


def _finalize(ws: Workspace, stage: Path, writer: _DayWriter, con: duckdb.DuckDBPyConnection,
              report: IngestReport, tx: str) -> tuple[dict[str, list[tuple[Path, str]]],
                                                      dict[str, set[str]]]:
    """Decide which written flows are new, and write the touched days' edges, as Parquet.

    The writer has already put every parsed flow, with ``flow_key`` = its content hash, into
    day-partitioned Parquet files. Those files are the result as they stand (the common
    case) when no content hash repeats in the batch, none of their days already holds flows
    in the workspace, and no file that failed half-way left rows behind. Otherwise they are
    the input of the exact path: a row whose hash is unique keeps it as ``flow_key``; rows
    whose hash repeats (identical records within a file, or the same record in two files) go
    through window functions that number occurrences and keep the first copy; rows whose key
    is already in the workspace (same days) are dropped.
    """
    add: dict[str, list[tuple[Path, str]]] = {"flows": [], "edges": [], "rejects": []}
    drop: dict[str, set[str]] = {"edges": set()}
    t0 = time.monotonic()
    written = [f for f in writer.files if f.exists()]
    if not written:
        for fr in report.files:
            fr.duplicates = fr.read - fr.rejected
        report.timings["dedup_write"] = 0.0
        report.timings["edges"] = 0.0
        return add, drop
    good = {i for i, fr in enumerate(report.files) if not fr.error}
    day_names = {f.parent.name for f in written}
    existing = [f for f in ws.flow_files() if f.parent.name in day_names]
    failed_rows = any(n for i, n in writer.rows.items() if i not in good)
    repeats = writer.hashes_repeat()
    if not existing and not failed_rows and not repeats:
        new_files = written
        loaded = {report.files[i].path: n for i, n in writer.rows.items()}
    else:
        new_files, loaded = _exact_path(con, stage, written, existing, report, good, tx)
    for fr in report.files:
        fr.loaded = loaded.get(fr.path, 0)
        fr.duplicates = fr.read - fr.rejected - fr.loaded
    for f in new_files:
        add["flows"].append((f, f"{f.parent.name}/{f.name}"))
    report.timings["dedup_write"] = round(time.monotonic() - t0, 3)
    # edges: rebuild every touched day from all of that day's flows (old + new)
    touched = sorted({f.parent.name for f in new_files})
    t_edges = time.monotonic()
    if touched:
        day_files = [f for f in ws.flow_files() if f.parent.name in touched] + new_files
        edge_dir = stage / "edges"
        sql = (f"COPY (WITH f AS (SELECT * FROM read_parquet($files, hive_partitioning = "  # noqa: S608
               f"false)) {EDGE_AGG_SQL}) TO '{_q(edge_dir)}' (FORMAT parquet, PARTITION_BY "
               f"(day), COMPRESSION snappy, FILENAME_PATTERN 'edges-{tx}-{{i}}')")
        con.execute(sql, {"files": [str(f) for f in day_files]})
        for f in sorted(edge_dir.glob("day=*/*.parquet")):
            add["edges"].append((f, f"{f.parent.name}/{f.name}"))
        for f in ws.edge_files():
            if f.parent.name in touched:
                drop["edges"].add(f"{f.parent.name}/{f.name}")
    report.timings["edges"] = round(time.monotonic() - t_edges, 3)
    return add, drop


def _exact_path(con: duckdb.DuckDBPyConnection, stage: Path, written: list[Path],
                existing: list[Path], report: IngestReport, good: set[int],
                tx: str) -> tuple[list[Path], dict[str, int]]:
    """Deduplicate the written flows with DuckDB (see :func:`_finalize`); returns the new
    files and the flows loaded per source file."""
    fmap = pa.table({"source_file": pa.array([report.files[i].path for i in sorted(good)],
                                             pa.string()),
                     "_fileno": pa.array(sorted(good), pa.int32())})
    con.register("fmap", fmap)
    # only constants and our own (quoted) staging paths are in the text
    view = ("CREATE TEMP VIEW raw AS SELECT r.* EXCLUDE (flow_key), r.flow_key AS _h, "  # noqa: S608
            f"m._fileno FROM read_parquet({_sql_files(written)}, hive_partitioning = false) r "
            "JOIN fmap m USING (source_file)")
    con.execute(view)
    con.execute("CREATE TEMP TABLE dup AS SELECT hash(_h) AS hh FROM raw "
                "GROUP BY 1 HAVING count(*) > 1")
    (n_dup,) = con.execute("SELECT count(*) FROM dup").fetchone() or (0,)
    params: dict[str, Any] = {}
    body = _WITH_DAY_SQL.format(rows=_UNIQUE_SQL + (_REPEATS_SQL if n_dup else ""))
    if existing:
        body += (" ANTI JOIN (SELECT flow_key FROM read_parquet($existing, "
                 "hive_partitioning = false)) old USING (flow_key)")
        params["existing"] = [str(f) for f in existing]
    out_dir = stage / "out"
    con.execute(
        f"COPY ({body}) TO '{_q(out_dir)}' (FORMAT parquet, PARTITION_BY (day), "
        f"COMPRESSION snappy, FILENAME_PATTERN 'part-{tx}-{{i}}', ROW_GROUP_SIZE 122880)",
        params)
    new_files = sorted(out_dir.glob("day=*/*.parquet")) if out_dir.exists() else []
    loaded: dict[str, int] = {}
    if new_files:
        for path, n in con.execute(
                "SELECT source_file, count(*) FROM read_parquet($new, hive_partitioning = false) "
                "GROUP BY 1", {"new": [str(f) for f in new_files]}).fetchall():
            loaded[path] = int(n)
    return new_files, loaded


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

    ticking = threading.Lock()  # the readers count bytes from their read-ahead thread

    def tick(n: int, recs: int = 0) -> None:
        nonlocal done, records
        with ticking:
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
            writer = _DayWriter(stage / "direct", tx)
            try:
                with open(rejects_path, "w", encoding="utf-8") as rej_fh:
                    rej_fh.write("source_file\tsource_line\treason\tline\n")
                    for fileno, (path, err) in enumerate(files):
                        fr = FileReport(path=path, error=err)
                        report.files.append(fr)
                        if err:
                            continue
                        _stage_file(fr, fileno, cfg, fmt, rej_fh, pool, writer, tick, options)
                        _checkpoint("parse")
            finally:
                writer.close()
                pool.shutdown()
            report.timings["read"] = round(time.monotonic() - started, 3)
            report.rejected = sum(f.rejected for f in report.files)
            report.read = sum(f.read for f in report.files)
            for f in report.files:
                for k, v in f.notes.items():
                    report.notes[k] = report.notes.get(k, 0) + v
            # the written flows go to disk while DuckDB works out the edges
            syncing = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            synced = syncing.submit(sync_files, [f for f in writer.files if f.exists()])
            con = duckdb.connect(str(stage / "tx.duckdb"))
            try:
                con.execute("SET enable_progress_bar = false")  # it would write to stdout
                con.execute("SET TimeZone = 'UTC'")
                con.execute(f"SET memory_limit = '{cfg.duckdb_memory_limit}'")
                con.execute(f"SET temp_directory = '{_q(stage / 'spill')}'")
                con.execute("SET preserve_insertion_order = false")
                add, drop = _finalize(ws, stage, writer, con, report, tx)
                synced.result()
            finally:
                con.close()
                syncing.shutdown()
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
    t_hosts = time.monotonic()
    report.timings["commit"] = round(t_hosts - started - sum(report.timings.values()), 3)
    if report.loaded:
        _rebuild_hosts(ws)
    report.seconds = time.monotonic() - started
    report.timings["hosts"] = round(time.monotonic() - t_hosts, 3)
    return report


class _DayWriter:
    """Computes each batch's content hash and writes the batch straight into day-partitioned
    Parquet in the staging area: a pipeline of two worker threads (one computing flow keys,
    one writing Parquet; both release the GIL), so that parsing a block, hashing the previous
    one and writing the one before that all overlap.

    It remembers a 64-bit hash of every content hash (to tell whether any repeats: then the
    exact path of :func:`_finalize` runs), the rows written per input file and the files.
    """

    def __init__(self, out_dir: Path, tx: str) -> None:
        self._hash_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._pending: list[concurrent.futures.Future[None]] = []
        self._out = out_dir
        self._tx = tx
        self._open: dict[int, pq.ParquetWriter] = {}
        self._parts: dict[int, int] = {}
        self._hashes: list[np.ndarray] = []
        self.files: list[Path] = []
        #: input file number -> flows written
        self.rows: dict[int, int] = {}

    def _writer(self, day: int) -> pq.ParquetWriter:
        w = self._open.pop(day, None)
        if w is None:
            if len(self._open) >= _MAX_OPEN_DAYS:
                oldest = next(iter(self._open))
                self._open.pop(oldest).close()
            part = self._parts.get(day, 0)
            self._parts[day] = part + 1
            iso = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
            path = self._out / f"day={iso}" / f"part-{self._tx}-{part}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            w = pq.ParquetWriter(path, FLOW_SCHEMA, compression=_COMPRESSION,
                                 use_dictionary=_DICT_COLUMNS, write_statistics=_STATISTICS)
            self.files.append(path)
        self._open[day] = w  # most recently used last
        return w

    def _hash(self, table: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """(hash thread) The batch with its ``flow_key`` (content digest), and a 64-bit digest
        of each key."""
        keys, digest = flow_keys(table, NATIVE_ID)
        table = pa.Table.from_arrays([*table.drop_columns([NATIVE_ID]).columns, keys],
                                     schema=FLOW_SCHEMA)
        return table, digest

    def _write(self, hashed: concurrent.futures.Future[tuple[pa.Table, np.ndarray]],
               fileno: int) -> None:
        """(write thread) The hashed batch into the Parquet file of each of its days."""
        table, hh = hashed.result()
        self._hashes.append(hh)
        day = table.column("ts").cast(pa.int64()).to_numpy() // _US_PER_DAY
        first, last = int(day.min()), int(day.max())
        if first == last:
            self._writer(first).write_table(table, row_group_size=122880)
        else:
            order = np.argsort(day, kind="stable")
            sorted_days = day[order]
            cuts = np.flatnonzero(np.diff(sorted_days)) + 1
            for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(order)], strict=True):
                part = table.take(pa.array(order[lo:hi]))
                self._writer(int(sorted_days[lo])).write_table(part, row_group_size=122880)
        self.rows[fileno] = self.rows.get(fileno, 0) + table.num_rows

    def submit(self, table: pa.Table, fileno: int) -> None:
        # at most three batches in flight (one per stage): bounded memory whatever the size
        while len(self._pending) >= 3:
            self._pending.pop(0).result()
        hashed = self._hash_pool.submit(self._hash, table)
        self._pending.append(self._pool.submit(self._write, hashed, fileno))

    def wait(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def hashes_repeat(self) -> bool:
        """Whether two written rows share a 64-bit hash of their content hash (equal records,
        or, very rarely, a collision: either way the exact path decides)."""
        if not self._hashes:
            return False
        h = np.concatenate(self._hashes)
        h.sort()
        return bool((h[1:] == h[:-1]).any())

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._hash_pool.shutdown()
            self._pool.shutdown()
            for w in self._open.values():
                w.close()
            self._open.clear()


def _rebuild_hosts(ws: Workspace) -> None:
    """Rebuild the hosts table (enrichment with the remembered settings) after new flows."""
    from graphflow.hosts import build_hosts

    try:
        build_hosts(ws)
    except GraphFlowError as exc:
        logger.warning("hosts table not rebuilt: %s", exc)


def _stage_file(fr: FileReport, fileno: int, cfg: Config, fmt: str | None, rej_fh: Any,
                pool: concurrent.futures.ThreadPoolExecutor, writer: _DayWriter,
                tick: Callable[..., None], options: dict[str, Any] | None = None) -> None:
    """Read one file through the writer; on a file-level error its counts are zeroed and the
    rows it already wrote are left out by :func:`_finalize`."""
    try:
        fr.bytes = os.path.getsize(fr.path)
        reader = _ingest.get_reader(fmt) if fmt else _ingest.detect_format(fr.path)
        fr.format = reader.name
        digest = pool.submit(_sha256, fr.path)
        pending: list[Reject] = []
        for batch in _ingest.read_file(reader, fr.path, block_bytes=cfg.batch_bytes,
                                       progress=tick, options=options):
            fr.read += batch.records
            tick(0, batch.records)
            fr.rejected += len(batch.rejects)
            for k, v in batch.notes.items():
                fr.notes[k] = fr.notes.get(k, 0) + v
            pending.extend(batch.rejects)
            if batch.table.num_rows:
                writer.submit(batch.table, fileno)
        writer.wait()
        fr.sha256 = digest.result()
        _write_rejects(rej_fh, pending)
    except GraphFlowError as exc:
        writer.wait()
        fr.error = str(exc) if isinstance(exc, InputFormatError) else f"{fr.path}: {exc}"
        fr.read = fr.rejected = 0
        fr.notes = {}
    except OSError as exc:
        writer.wait()
        fr.error = f"{fr.path}: cannot read: {exc.strerror or exc}"
        fr.read = fr.rejected = 0
        fr.notes = {}
