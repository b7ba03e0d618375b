"""flow-tools reader: ``flow-export -f2`` ASCII (CSV) output, any field mask.

flow-tools is not packaged in Debian 12, so the fixtures are built from its documented format
(``flow-export(1)``; flowd's ``flowd-reader -c`` writes the same layout): a first line
``#:`` followed by the comma-separated names of the fields present, chosen with ``-m``::

    #:unix_secs,unix_nsecs,sysuptime,exaddr,dpkts,doctets,first,last,engine_type,engine_id,
      srcaddr,dstaddr,nexthop,input,output,srcport,dstport,prot,tos,tcp_flags,src_mask,
      dst_mask,src_as,dst_as

then one NetFlow v5 record per line. ``-m0x3000`` gives only ``#:srcaddr,dstaddr``.

Mapping: ``srcaddr``/``dstaddr``/``srcport``/``dstport``; ``prot`` (number) -> proto;
``doctets``/``dpkts`` -> src_bytes/src_pkts (IP level; NetFlow v5 is one direction per record:
the directions are stitched, see :mod:`ingest.stitch`); ``tcp_flags`` (OR of the flags) ->
``tcp_flags`` and the state.

**Time.** NetFlow v5 times are router uptimes: the flow starts at
``unix_secs + unix_nsecs/1e9 - (sysuptime - first)/1000`` and lasts ``(last - first)/1000``
seconds. Without ``first``/``sysuptime`` the export time ``unix_secs`` is used; without any time
field every record gets the ``start`` option (seconds since the epoch, CLI ``--start``),
default 0 (1970-01-01 UTC), and ``notes["untimed"]`` counts them; such records are not
stitched (nothing says which two belong together). Without ``prot`` the transport cannot be
told: ``proto`` is then ``ip`` (any IP protocol) and ports are dropped. Lines starting with
``#`` other than the header are comments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.errors import InputFormatError
from ingest.base import (
    Converted,
    FlowBatch,
    ProgressFn,
    aux_for,
    block_problems,
    canonical_table,
    checked_path,
    empty_batch,
    end_times_us,
    int_column,
    line_starts,
    lines_prefixed,
    orphan_lines,
    parse_delimited,
    pipelined_segments,
    port_column,
    proto_names,
    stitched_batches,
)
from ingest.stitch import DEFAULT_WINDOW_S, Stitcher

__all__ = ["FIELDS", "read_flowtools", "sniff_flowtools"]

#: Every field flow-export -f2 can print, in its order (mask bit = 1 << index).
FIELDS = ("unix_secs", "unix_nsecs", "sysuptime", "exaddr", "dpkts", "doctets", "first", "last",
          "engine_type", "engine_id", "srcaddr", "dstaddr", "nexthop", "input", "output",
          "srcport", "dstport", "prot", "tos", "tcp_flags", "src_mask", "dst_mask", "src_as",
          "dst_as")


_ADDRS = ("exaddr", "srcaddr", "dstaddr", "nexthop")


def sniff_flowtools(head: bytes) -> str | None:
    """``"f2"`` when the file starts with flow-export's ``#:`` header naming NetFlow fields.

    >>> sniff_flowtools(b"#:srcaddr,dstaddr\\n10.0.0.1,10.0.0.2\\n")
    'f2'
    >>> sniff_flowtools(b"#fields\\tts\\n") is None
    True
    """
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        if not line.startswith("#:"):
            return None
        names = {x.strip() for x in line[2:].split(",")}
        return "f2" if names and names <= set(FIELDS) | {"dflows"} else None
    return None


def _convert(path: str, lines: pa.StringArray, nos: np.ndarray, names: list[str],
             start: float) -> tuple[FlowBatch, np.ndarray, np.ndarray, int]:
    d = parse_delimited(path, lines, nos, names, ",",
                        types={f: pa.int64() for f in FIELDS if f not in _ADDRS})
    tab = d.table
    n = tab.num_rows
    if n == 0:
        b = empty_batch(path, records=len(d.rejects), rejects=d.rejects)
        return b, np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    bads: list[tuple[np.ndarray | None, str]] = []
    num: dict[str, pa.Array] = {}
    for name in ("unix_secs", "unix_nsecs", "sysuptime", "first", "last", "dpkts", "doctets"):
        if name in tab.column_names:
            val, bad = int_column(tab.column(name))
            bads.append((bad, f"{name}: not a number"))
            num[name] = val
    untimed = 0
    f64 = pa.float64()
    if "unix_secs" in num:
        export = pc.add(num["unix_secs"].cast(f64), pc.divide(
            pc.fill_null(num["unix_nsecs"], 0).cast(f64), 1e9) if "unix_nsecs" in num else 0.0)
        if "sysuptime" in num and "first" in num:
            ts = pc.subtract(export, pc.divide(pc.subtract(num["sysuptime"], num["first"]).cast(
                f64), 1000.0))
        else:
            ts = export
    else:
        ts = pa.array(np.full(n, float(start)))
        untimed = n
    if "first" in num and "last" in num:
        dur = pc.divide(pc.subtract(num["last"], num["first"]).cast(f64), 1000.0)
    else:
        dur = pa.nulls(n, f64)
    if "prot" in tab.column_names:
        proto = proto_names(tab.column("prot"))
    else:
        proto = pa.array(np.full(n, "ip", dtype=object), pa.string())
    sp, sp_bad = port_column(tab.column("srcport") if "srcport" in tab.column_names else None,
                             proto, n)
    dp, dp_bad = port_column(tab.column("dstport") if "dstport" in tab.column_names else None,
                             proto, n)
    bads += [(sp_bad, "srcport: not a number"), (dp_bad, "dstport: not a number")]
    if "tcp_flags" in tab.column_names:
        fl, bad = int_column(tab.column("tcp_flags"))
        bads.append((bad, "tcp_flags: not a number"))
        bits = np.asarray(pc.fill_null(fl, -1), dtype=np.int64)
    else:
        bits = np.full(n, -1, np.int64)
    cols = {
        "ts": ts, "duration": dur, "src_ip": tab.column("srcaddr")
        if "srcaddr" in tab.column_names else None,
        "dst_ip": tab.column("dstaddr") if "dstaddr" in tab.column_names else None,
        "src_port": sp, "dst_port": dp, "proto": proto,
        "src_bytes": num.get("doctets"), "src_pkts": num.get("dpkts"),
        "dst_bytes": pa.array(np.zeros(n, np.int64)), "dst_pkts": pa.array(np.zeros(n, np.int64)),
    }
    batch = canonical_table(cols, n=n, lines=d.line_nos, path=path, raw_lines=d.lines,
                            problems=block_problems(*bads))
    batch.rejects = sorted(d.rejects + batch.rejects, key=lambda r: r.line)
    batch.records += len(d.rejects)
    kb, ke = aux_for(batch.table, d.line_nos, bits, end_times_us(ts, dur))
    return batch, kb, ke, untimed


def read_flowtools(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
                   progress: ProgressFn | None = None, start: float = 0.0,
                   stitch: bool = True, stitch_window: float = DEFAULT_WINDOW_S
                   ) -> Iterator[FlowBatch]:
    """Read ``flow-export -f2`` output as canonical flow batches."""
    path = checked_path(path, sniff_flowtools, "flow-export -f2 output (no '#:' header line "
                                               "of NetFlow field names)")
    stitcher = Stitcher(window_s=stitch_window if stitch else -1e9)
    segments = pipelined_segments(
        path, block_bytes, progress,
        is_header=lambda ls: lines_prefixed(ls, "#:"),
        is_skipped=lambda ls: line_starts(ls, b"#"))

    def blocks() -> Iterator[Converted]:
        for seg in segments:
            if seg.header is None:
                yield orphan_lines(path, seg, "line before the '#:' header")
                continue
            names = [x.strip() for x in seg.header[2:].split(",")]
            missing = {"srcaddr", "dstaddr"} - set(names)
            if missing:
                raise InputFormatError(path, seg.header_line,
                                       f"the field mask lacks {', '.join(sorted(missing))}")
            batch, bits, end_us, untimed = _convert(path, seg.lines, seg.line_nos, names,
                                                    start)
            if "unix_secs" not in names:
                stitcher.window_s = -1e9
            yield batch, bits, end_us, {"untimed": untimed}

    yield from stitched_batches(path, blocks(), stitcher)
