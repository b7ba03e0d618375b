"""A time window of a workspace as a workspace of its own, for whole-workspace analyses.

The analyses read every day of the workspace. To run them over ``[start, end)`` (the report's
and the plots' ``--from``/``--to``), :func:`window_workspace` builds a throw-away workspace
holding only the day partitions of flows and edges in the window (hard links when the file
system allows, else copies) plus the hosts table and the inventory unchanged. The window is in
whole UTC days, because the edge model is aggregated per day: a day is in when any part of it
is inside ``[start, end)``. The temporary workspace lives under ``<workspace>/.windows/`` (same
file system: hard links, nothing copied) and is removed on exit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from graphflow.errors import GraphFlowError
from graphflow.workspace import Workspace

__all__ = ["day_range", "window_workspace"]


def day_range(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.date | None,
                                                                          dt.date | None]:
    """The first and last UTC day touched by ``[start, end)`` (None: unbounded).

    >>> u = dt.timezone.utc
    >>> day_range(dt.datetime(2026, 3, 2, tzinfo=u), dt.datetime(2026, 3, 4, tzinfo=u))
    (datetime.date(2026, 3, 2), datetime.date(2026, 3, 3))
    >>> day_range(None, dt.datetime(2026, 3, 4, 6, tzinfo=u))
    (None, datetime.date(2026, 3, 4))
    """
    first = start.astimezone(dt.UTC).date() if start else None
    last = None
    if end is not None:
        e = end.astimezone(dt.UTC)
        last = e.date() if e.time() != dt.time(0) else e.date() - dt.timedelta(days=1)
    if first and last and last < first:
        raise GraphFlowError(f"empty window: --from {start} is not before --to {end}")
    return first, last


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


@contextlib.contextmanager
def window_workspace(ws: Workspace, start: dt.datetime | None,
                     end: dt.datetime | None) -> Iterator[Workspace]:
    """``ws`` itself when there is no window, else a temporary workspace of the window's days."""
    if start is None and end is None:
        yield ws
        return
    first, last = day_range(start, end)
    # inside the workspace when writable: same file system, so hard links, no copies
    where: Path | None = ws.root / ".windows"
    try:
        (ws.root / ".windows").mkdir(exist_ok=True)
    except OSError:
        where = None
    with tempfile.TemporaryDirectory(prefix="window-", dir=where) as tmp:
        sub = Workspace.open(Path(tmp) / "ws", create=True)
        staging = sub.new_staging()
        src_dir = ws.version_dir
        add: dict[str, list[tuple[Path, str]]] = {}
        for table in ("flows", "edges"):
            for f in ws.table_files(table, src_dir):
                day = dt.date.fromisoformat(f.parent.name.removeprefix("day="))
                if (first and day < first) or (last and day > last):
                    continue
                rel = f.relative_to(src_dir / table).as_posix()
                tmp_file = staging / table / rel
                _link(f, tmp_file)
                add.setdefault(table, []).append((tmp_file, rel))
        for table in ("hosts", "meta"):
            base = src_dir / table
            for f in sorted(base.rglob("*")) if base.exists() else []:
                if f.is_file():
                    rel = f.relative_to(base).as_posix()
                    tmp_file = staging / table / rel
                    _link(f, tmp_file)
                    add.setdefault(table, []).append((tmp_file, rel))
        sub.commit(add=add, drop={}, ledger=dict(ws.ledger(), window=[
            first.isoformat() if first else None, last.isoformat() if last else None]))
        shutil.rmtree(staging, ignore_errors=True)
        yield sub
