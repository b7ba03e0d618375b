"""What the writers share: the output file, the report, attribute columns and their types."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["VISUAL", "Column", "Output", "WriteReport", "attribute_columns", "batches",
           "open_output"]

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


def elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
