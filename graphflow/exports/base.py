"""What the writers share: the output file, the report, attribute columns and their types."""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["RENDER_ROWS", "VISUAL", "Column", "Output", "WriteReport", "attribute_columns",
           "batches", "map_batches", "open_output", "row_numbers"]

#: Columns that are drawn rather than data: every writer maps them to its own attributes.
VISUAL = frozenset({"id", "source", "target", "label", "color", "size", "shape", "cluster"})


@dataclass(frozen=True)
class WriteReport:
    """What a writer wrote."""

    format: str
    path: str | None
    nodes: int
    edges: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Output:
    """A binary sink that counts what goes through it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.bytes = 0

    def write(self, data: bytes | memoryview) -> int:
        n = self.fh.write(data)
        self.bytes += n
        return n

    def text(self, s: str) -> None:
        self.write(s.encode("utf-8"))


@contextlib.contextmanager
def open_output(out: str | os.PathLike[str] | IO[bytes]) -> Iterator[Output]:
    """A file written atomically (to ``name.tmp``, renamed when complete) or a given stream."""
    if not isinstance(out, str | os.PathLike):
        yield Output(out)
        return
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb", buffering=1 << 20) as fh:
            yield Output(fh)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@dataclass(frozen=True)
class Column:
    """An attribute column and its kind: string, bool, int (a 32-bit type), long, double.

    ``fits32`` says whether a ``long`` column's values all fit 32 bits (GDF has no 64-bit
    integer type).
    """

    name: str
    kind: str
    fits32: bool = True


def _column(name: str, col: pa.ChunkedArray) -> Column:
    t = col.type
    if pa.types.is_boolean(t):
        return Column(name, "bool")
    if pa.types.is_integer(t):
        small = t.bit_width < 32 or (t.bit_width == 32 and pa.types.is_signed_integer(t))
        if small:
            return Column(name, "int")
        fits = True
        if col.null_count < len(col):
            lo, hi = (v.as_py() for v in pc.min_max(col).values())
            fits = -(2**31) <= lo and hi < 2**31
        return Column(name, "long", fits)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return Column(name, "double")
    return Column(name, "string")


def attribute_columns(table: pa.Table, exclude: frozenset[str] = VISUAL) -> list[Column]:
    """The data columns of a node or edge table (everything not drawn), with their kinds."""
    return [_column(name, table.column(name)) for name in table.column_names
            if name not in exclude]


def batches(table: pa.Table, rows: int) -> Iterator[tuple[int, pa.Table]]:
    """``(first row number, slice)`` over a table, ``rows`` at a time."""
    for start in range(0, max(table.num_rows, 1), rows):
        part = table.slice(start, rows)
        if part.num_rows:
            yield start, part


def row_numbers(start: int, n: int) -> pa.Array:
    """``start, start + 1, ... start + n - 1`` as int64 (edge ids, row keys).

    >>> row_numbers(3, 2).to_pylist()
    [3, 4]
    """
    return pa.array(np.arange(start, start + n, dtype=np.int64))


#: Rows per batch that :func:`map_batches` renders on one thread.
RENDER_ROWS = 65_536
#: Threads rendering batches at once (Arrow's kernels release the GIL while they run).
RENDER_THREADS = max(1, min(4, os.cpu_count() or 1))

T = TypeVar("T")


def map_batches(table: pa.Table, render: Callable[[int, pa.Table], T],
                rows: int = RENDER_ROWS) -> Iterator[T]:
    """``render(first row, slice)`` over ``table``'s slices, in order, several slices at a time
    on threads: a writer streams the finished text of one slice while the next ones render.
    At most ``RENDER_THREADS + 1`` results are held at once.

    >>> t = pa.table({"x": list(range(5))})
    >>> list(map_batches(t, lambda start, part: (start, part.num_rows), rows=2))
    [(0, 2), (2, 2), (4, 1)]
    """
    parts = batches(table, rows)
    if RENDER_THREADS == 1:
        for start, part in parts:
            yield render(start, part)
        return
    with ThreadPoolExecutor(RENDER_THREADS) as pool:
        pending: deque[Future[T]] = deque()
        for start, part in parts:
            pending.append(pool.submit(render, start, part))
            if len(pending) > RENDER_THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
