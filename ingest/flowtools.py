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
    FlowBatch,
    ProgressFn,
    Reject,
    aux_for,
    block_problems,
    canonical_table,
    empty_batch,
    int_column,
    iter_segments,
    parse_delimited,
    port_column,
    proto_names,
    read_head,
)
from ingest.stitch import DEFAULT_WINDOW_S, END, FLAGS, Stitcher

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
    ts_f = np.asarray(pc.fill_null(ts, 0.0), dtype=np.float64)
    dur_f = np.asarray(pc.fill_null(dur, 0.0), dtype=np.float64)
    end_us = np.round((ts_f + np.maximum(dur_f, 0)) * 1e6).astype(np.int64)
    kb, ke = aux_for(batch.table, d.line_nos, bits, end_us)
    return batch, kb, ke, untimed


def read_flowtools(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
                   progress: ProgressFn | None = None, start: float = 0.0,
                   stitch: bool = True, stitch_window: float = DEFAULT_WINDOW_S
                   ) -> Iterator[FlowBatch]:
    """Read ``flow-export -f2`` output as canonical flow batches."""
    path = os.fspath(path)
    head = read_head(path)
    if head.strip() and sniff_flowtools(head) is None:
        raise InputFormatError(path, None, "not flow-export -f2 output (no '#:' header line "
                                           "of NetFlow field names)")
    stitcher = Stitcher(window_s=stitch_window if stitch else -1e9)
    segments = iter_segments(
        path, block_bytes, progress,
        is_header=lambda ls: np.asarray(pc.starts_with(ls, "#:")),
        is_skipped=lambda ls: np.asarray(pc.starts_with(ls, "#")))
    pending: FlowBatch | None = None
    for seg in segments:
        if seg.header is None:
            rejects = [Reject(path, int(no), "line before the '#:' header", t.rstrip("\r\n"))
                       for no, t in zip(seg.line_nos.tolist(), seg.lines.to_pylist(),
                                        strict=True)]
            yield empty_batch(path, records=len(rejects), rejects=rejects)
            continue
        names = [x.strip() for x in seg.header[2:].split(",")]
        missing = {"srcaddr", "dstaddr"} - set(names)
        if missing:
            raise InputFormatError(path, seg.header_line,
                                   f"the field mask lacks {', '.join(sorted(missing))}")
        batch, bits, end_us, untimed = _convert(path, seg.lines, seg.line_nos, names, start)
        if "unix_secs" not in names:
            stitcher.window_s = -1e9
        before = stitcher.stitched
        table = batch.table.append_column(FLAGS, pa.array(bits, pa.int64())).append_column(
            END, pa.array(end_us, pa.int64()))
        batch.table = stitcher.push(table)
        # records = flows + rejects (read = loaded + rejected + duplicates); the records
        # merged into their other direction are counted in notes["stitched"]
        batch.records = batch.table.num_rows + len(batch.rejects)
        batch.notes["stitched"] = stitcher.stitched - before
        if untimed:
            batch.notes["untimed"] = untimed
        if pending is not None:
            yield pending
        pending = batch
    before = stitcher.stitched
    last = pending if pending is not None else empty_batch(path)
    e = empty_batch(path).table
    tail = stitcher.push(e.append_column(FLAGS, pa.array([], pa.int64())).append_column(
        END, pa.array([], pa.int64())), final=True)
    if tail.num_rows:
        last.table = pa.concat_tables([last.table, tail])
    last.notes["stitched"] = last.notes.get("stitched", 0) + stitcher.stitched - before
    last.records = last.table.num_rows + len(last.rejects)
    yield last
