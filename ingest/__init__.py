"""GraphFlow's readers: one module per input format, registered once in :data:`READERS`.

Every reader turns its format into the canonical flow table declared in
:mod:`graphflow.schema`, in blocks (:class:`ingest.base.FlowBatch`), with rejects carrying
file and line. :func:`detect_format` picks the reader from a file's first bytes (sniffers are
tried in :data:`READERS` order; the first that recognises the file wins). Reader options
(``repair`` for VAST, ``start`` for untimed tshark/flow-tools files, ``stitch``, ...) are
passed with :func:`read_file`, which hands each reader only the options it takes.
"""

from __future__ import annotations

#: Marker checked by graphflow so that an unrelated top-level ``ingest`` package is never used.
#: Set first: ``graphflow`` and ``ingest`` import each other.
__graphflow__ = True

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphflow.errors import InputFormatError
from ingest.argus import read_argus, sniff_argus
from ingest.base import FlowBatch, ProgressFn, Reject, open_binary
from ingest.flowtools import read_flowtools, sniff_flowtools
from ingest.nfdump import read_nfdump, sniff_nfdump
from ingest.pcap import read_pcap, sniff_pcap
from ingest.tshark import read_tshark, sniff_tshark
from ingest.vast import read_vast, sniff_vast
from ingest.zeek_conn import read_zeek_conn, sniff_zeek_conn

__all__ = ["READERS", "FlowBatch", "Reader", "Reject", "detect_format", "get_reader",
           "read_file", "reader_options"]


@dataclass(frozen=True)
class Reader:
    """A registered input format."""

    name: str
    description: str
    sniff: Callable[[bytes], object | None]
    read: Callable[..., Iterator[FlowBatch]]
    #: file-name patterns picked up when a directory is ingested
    dir_patterns: tuple[str, ...]
    #: keyword options the reader takes besides ``block_bytes`` and ``progress``
    options: tuple[str, ...] = ()


READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader("pcap", "pcap/pcapng capture (packets -> flows)",
               sniff_pcap, read_pcap, ("*.pcap", "*.pcapng", "*.cap", "*.pcap.gz"),
               ("idle_timeout", "active_timeout")),
        Reader("zeek", "Zeek conn.log (TSV or JSON lines, optionally gzipped)",
               sniff_zeek_conn, read_zeek_conn,
               ("*conn*.log", "*conn*.log.gz", "*conn*.json", "*conn*.json.gz")),
        Reader("vast", "VAST Challenge 2013 netflow CSV (firstSeenSrcIp, ...)",
               sniff_vast, read_vast, ("nf-*.csv", "*vast*.csv"), ("repair", "learn_records")),
        Reader("nfdump", "nfdump CSV (nfdump -o csv: ts,te,td,sa,da,... or srcAddr,dstAddr,...)",
               sniff_nfdump, read_nfdump, ("*.nfdump.csv", "nfcapd*.csv", "*nfdump*.csv"),
               ("stitch", "stitch_window")),
        Reader("argus", "Argus ra CSV/TSV or CTU-13 binetflow (header naming SrcAddr, DstAddr)",
               sniff_argus, read_argus, ("*.binetflow", "*.binetflow.gz", "*.argus.csv",
                                         "*.ra.csv"),
               ("link_header", "stitch", "stitch_window")),
        Reader("flowtools", "flow-tools flow-export -f2 ('#:' field-mask header)",
               sniff_flowtools, read_flowtools, ("*.flow-export", "*.flowtools.csv",
                                                 "*.ft.csv"),
               ("start", "stitch", "stitch_window")),
        Reader("tshark", "tshark -T fields CSV (packets: ip.src, ip.dst, ...)",
               sniff_tshark, read_tshark, ("*.tshark.csv", "*tshark*.csv"),
               ("start", "link_header")),
    )
}


def reader_options(reader: Reader, options: dict[str, Any] | None) -> dict[str, Any]:
    """The subset of ``options`` that ``reader`` takes (``None`` values are left out), so one
    set of CLI options can be handed to every file whatever its format.

    >>> reader_options(READERS["vast"], {"repair": False, "start": 5.0, "stitch": None})
    {'repair': False}
    """
    return {k: v for k, v in (options or {}).items() if k in reader.options and v is not None}


def read_file(reader: Reader, path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
              progress: ProgressFn | None = None,
              options: dict[str, Any] | None = None) -> Iterator[FlowBatch]:
    """``reader.read`` with the options that reader takes."""
    return reader.read(path, block_bytes=block_bytes, progress=progress,
                       **reader_options(reader, options))


def get_reader(name: str) -> Reader:
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(READERS)
        raise InputFormatError(name, None, f"unknown format (known: {known})") from None


def detect_format(path: str | os.PathLike[str]) -> Reader:
    """The reader whose sniffer recognises the file's first 64 KiB.

    A file no sniffer recognises raises one :class:`InputFormatError` naming the file, the
    formats tried and the start of its first line. An empty file has no format to detect.
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as raw:
            magic = raw.read(4)
        if sniff_pcap(magic):  # binary: never gunzip-sniff a capture as text
            return READERS["pcap"]
        with open_binary(p) as f:
            head = f.read(65536)
    except (OSError, EOFError) as exc:
        raise InputFormatError(p, None, f"cannot read: {exc}") from None
    for reader in READERS.values():
        if reader.sniff(head):
            return reader
    tried = ", ".join(READERS)
    if not head.strip():
        raise InputFormatError(p, None, f"empty file: no format to detect (tried {tried}; "
                                        "force one with --format)")
    if head[:2] == b"\x0c\xa5":
        raise InputFormatError(p, None, f"unrecognised format (tried {tried}): a binary nfcapd "
                                        "file; export it with: nfdump -r FILE -o csv")
    first = next((ln for ln in head.splitlines() if ln.strip()), b"")[:80]
    if not first.isascii() or b"\x00" in first:
        raise InputFormatError(p, None, f"unrecognised format (tried {tried}): binary data "
                                        f"starting {first[:8].hex()}")
    raise InputFormatError(p, None, f"unrecognised format (tried {tried}); first line: "
                                    f"{first.decode('ascii')!r}")


_ = ProgressFn, Reject
