"""The embedded store: a directory of Parquet datasets with atomic, versioned commits.

Layout (``ws`` is the workspace directory)::

    ws/WORKSPACE                      marker: format name and version
    ws/current -> versions/000007     the committed state (a symlink, swapped atomically)
    ws/flows   -> current/flows       convenience links, readable as-is by DuckDB/Spark/Trino:
    ws/edges   -> current/edges         hive partitions  day=YYYY-MM-DD/*.parquet
    ws/rejects -> current/rejects     one TSV of rejected lines per ingest
    ws/versions/000007/ledger.json    what was loaded: files, digests, counts
    ws/.staging/                      work in progress; never read, removed on recovery

A commit builds a complete new version directory (hard links to unchanged files plus the new
ones, and the new ledger), fsyncs it, and then replaces the ``current`` symlink with one
``rename``: a process killed at any point before that leaves the previous version untouched,
and anything half-written stays in ``.staging`` or an unreferenced version, which the next
writer removes.

>>> import tempfile
>>> ws = Workspace.open(tempfile.mkdtemp() + "/ws")
>>> ws.version, ws.flow_files(), ws.ledger()["ingests"]
(0, [], [])
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from graphflow.errors import WorkspaceError

__all__ = ["Workspace", "sync_files"]

FORMAT = "graphflow-workspace"
#: 2: flow keys by graphflow.flowkey (1: an MD5 of the same fields as text; not comparable)
FORMAT_VERSION = 2
_TABLES = ("flows", "edges", "rejects", "hosts", "meta")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_files(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Flush files to disk. A commit fsyncs every file it publishes anyway; calling this
    beforehand (from another thread, while other work goes on) leaves the commit clean files."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        sync_files(os.path.join(dirpath, name) for name in files)
        _fsync_dir(Path(dirpath))


def _empty_ledger() -> dict[str, Any]:
    return {"format": FORMAT, "version": 0, "ingests": [], "files": {}}


def _check_marker(path: Path) -> None:
    """Raise WorkspaceError unless ``path``'s marker names this format and version."""
    marker = path / "WORKSPACE"
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"{marker}: unreadable workspace marker: {exc}") from None
    if meta.get("format") == FORMAT and meta.get("version") == 1:
        raise WorkspaceError(f"{path}: workspace of an earlier GraphFlow (format 1, whose "
                             "flow keys this version cannot match): ingest the files again "
                             "into a new workspace")
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise WorkspaceError(f"{path}: unsupported workspace format {meta!r}")


class Workspace:
    """A workspace directory. Readers see the version that was current when they looked."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # ---- opening and recovery -------------------------------------------------------------
    @staticmethod
    def is_current(path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` holds a workspace this version can open (format and version)."""
        try:
            _check_marker(Path(path).absolute())
        except WorkspaceError:
            return False
        return True

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, create: bool = True) -> Workspace:
        """Open (and by default create) a workspace; clean up after any interrupted write."""
        path = Path(root).absolute()
        marker = path / "WORKSPACE"
        if not marker.exists():
            if not create:
                raise WorkspaceError(
                    f"{path}: no GraphFlow workspace here (run 'graphflow ingest' first, or "
                    "pass --workspace)")
            if path.exists() and any(path.iterdir()):
                raise WorkspaceError(f"{path}: exists, is not empty and is not a workspace")
            ws = cls(path)
            ws._create()
            return ws
        _check_marker(path)
        ws = cls(path)
        ws.recover()
        return ws

    def _create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        v0 = self.root / "versions" / "000000"
        for t in _TABLES:
            (v0 / t).mkdir(parents=True, exist_ok=True)
        (v0 / "ledger.json").write_text(json.dumps(_empty_ledger(), indent=1), encoding="utf-8")
        self._swap_current(v0)
        for t in (*_TABLES, "ledger.json"):
            link = self.root / t
            if t == "meta":
                continue
            if not link.is_symlink():
                link.symlink_to(Path("current") / t)
        tmp = self.root / "WORKSPACE.tmp"
        tmp.write_text(json.dumps({"format": FORMAT, "version": FORMAT_VERSION}),
                       encoding="utf-8")
        os.replace(tmp, self.root / "WORKSPACE")
        _fsync_dir(self.root)

    def _swap_current(self, version_dir: Path) -> None:
        tmp = self.root / f".current.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(version_dir.relative_to(self.root))
        os.replace(tmp, self.root / "current")
        _fsync_dir(self.root)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock (one ingest at a time); readers never wait."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WorkspaceError(
                    f"{self.root}: another GraphFlow process is writing this workspace") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def recover(self) -> None:
        """Remove leftovers of interrupted writes (only if no writer holds the lock)."""
        try:
            with self.lock():
                staging = self.root / ".staging"
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
                cur = self.version_dir.name
                for v in (self.root / "versions").iterdir():
                    if v.name != cur:
                        shutil.rmtree(v, ignore_errors=True)
                for tmp in self.root.glob(".current.*.tmp"):
                    tmp.unlink()
        except WorkspaceError:
            pass  # a writer is active; it cleans up after itself

    # ---- reading ------------------------------------------------------------------------
    @property
    def version_dir(self) -> Path:
        target = os.readlink(self.root / "current")
        return (self.root / target).resolve()

    @property
    def version(self) -> int:
        return int(self.version_dir.name)

    def ledger(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.version_dir / "ledger.json").read_text(encoding="utf-8"))
        return data

    def table_files(self, table: str, version_dir: Path | None = None) -> list[Path]:
        base = (version_dir or self.version_dir) / table
        return sorted(base.glob("day=*/*.parquet"))

    def flow_files(self) -> list[Path]:
        return self.table_files("flows")

    def edge_files(self) -> list[Path]:
        return self.table_files("edges")

    # ---- writing ------------------------------------------------------------------------
    def new_staging(self) -> Path:
        tx = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
        path = self.root / ".staging" / tx
        path.mkdir(parents=True)
        return path

    def commit(self, *, add: dict[str, list[tuple[Path, str]]], drop: dict[str, set[str]],
               ledger: dict[str, Any], checkpoint: Any = None) -> int:
        """Publish a new version: the current files minus ``drop`` plus ``add``, and ``ledger``.

        ``add[table]`` lists (file to move in, relative destination); ``drop[table]`` holds
        relative paths of current files to leave out. Returns the new version number.
        """
        old = self.version_dir
        number = self.version + 1
        new = self.root / "versions" / f"{number:06d}"
        if new.exists():
            shutil.rmtree(new)
        for t in _TABLES:
            (new / t).mkdir(parents=True)
            for f in sorted((old / t).rglob("*")) if (old / t).exists() else []:
                if f.is_dir():
                    continue
                rel = f.relative_to(old / t).as_posix()
                if rel in drop.get(t, set()):
                    continue
                dest = new / t / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.link(f, dest)
            for src, rel in add.get(t, []):
                dest = new / t / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
        if checkpoint:
            checkpoint("write")
        ledger = dict(ledger, version=number)
        tmp = new / "ledger.json.tmp"
        tmp.write_text(json.dumps(ledger, indent=1, sort_keys=True), encoding="utf-8")
        _fsync_tree(new)
        if checkpoint:
            checkpoint("ledger")
        os.replace(tmp, new / "ledger.json")
        _fsync_dir(new)
        self._swap_current(new)
        shutil.rmtree(old, ignore_errors=True)
        return number
