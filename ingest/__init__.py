"""GraphFlow's readers: one module per input format, registered once in :data:`READERS`.

Every reader turns its format into the canonical flow table declared in
:mod:`graphflow.schema`, in blocks (:class:`ingest.base.FlowBatch`), with rejects carrying
file and line. :func:`detect_format` picks the reader from a file's first bytes.
"""

from __future__ import annotations

#: Marker checked by graphflow so that an unrelated top-level ``ingest`` package is never used.
#: Set first: ``graphflow`` and ``ingest`` import each other.
__graphflow__ = True

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graphflow.errors import InputFormatError
from ingest.base import FlowBatch, ProgressFn, Reject, open_binary
from ingest.zeek_conn import read_zeek_conn, sniff_zeek_conn

__all__ = ["READERS", "FlowBatch", "Reader", "Reject", "detect_format", "get_reader"]


@dataclass(frozen=True)
class Reader:
    """A registered input format."""

    name: str
    description: str
    sniff: Callable[[bytes], object | None]
    read: Callable[..., Iterator[FlowBatch]]
    #: file-name patterns picked up when a directory is ingested
    dir_patterns: tuple[str, ...]


READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader("zeek", "Zeek conn.log (TSV or JSON lines, optionally gzipped)",
               sniff_zeek_conn, read_zeek_conn,
               ("*conn*.log", "*conn*.log.gz", "*conn*.json", "*conn*.json.gz")),
    )
}


def get_reader(name: str) -> Reader:
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(READERS)
        raise InputFormatError(name, None, f"unknown format (known: {known})") from None


def detect_format(path: str | os.PathLike[str]) -> Reader:
    """The reader whose sniffer recognises the file's first 64 KiB."""
    p = os.fspath(path)
    try:
        with open_binary(p) as f:
            head = f.read(65536)
    except (OSError, EOFError) as exc:
        raise InputFormatError(p, None, f"cannot read: {exc}") from None
    for reader in READERS.values():
        if reader.sniff(head):
            return reader
    raise InputFormatError(p, None, "unrecognised format (known: " + ", ".join(
        r.description for r in READERS.values()) + ")")


_ = ProgressFn, Reject
