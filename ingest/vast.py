"""VAST Challenge 2013 (Mini-Challenge 3) netflow CSV reader, with swapped-record repair.

Columns (by header name; the 2013 files have them in this order)::

    TimeSeconds,parsedDate,dateTimeStr,ipLayerProtocol,ipLayerProtocolCode,firstSeenSrcIp,
    firstSeenDestIp,firstSeenSrcPort,firstSeenDestPort,moreFragments,contFragments,
    durationSeconds,firstSeenSrcPayloadBytes,firstSeenDestPayloadBytes,firstSeenSrcTotalBytes,
    firstSeenDestTotalBytes,firstSeenSrcPacketCount,firstSeenDestPacketCount,recordForceOut

Mapping: ``TimeSeconds`` -> ts, ``durationSeconds`` -> duration, ``ipLayerProtocol`` (number;
``ipLayerProtocolCode`` when absent) -> proto, ``firstSeen*Ip``/``Port`` -> endpoints,
``firstSeen*TotalBytes`` -> src/dst_bytes (IP level), ``firstSeen*PacketCount`` -> pkts.
Records whose protocol code is ``OTHER`` carry port 0 meaning "no port": their ports are null.
No state is given: non-TCP flows get ``CON``/``INT`` from the reply packet count, TCP none.

**Swapped records.** The collector sometimes recorded a connection from the server's side:
``firstSeenSrc*`` is then the server. The reader finds those the way an analyst would, from
the data itself (no port list is built in):

1. it learns on the first ``learn_records`` records (TCP/UDP with ports);
2. the dominant scanners are set aside: sources that reach at least ``max(50, 10 x median)``
   distinct destination ports (a scan, or a busy server seen from its side, would otherwise
   make random ports look like services);
3. a port is a **service port** when many distinct clients use it as destination port -- at
   least ``max(3, the 99th percentile of that count over all ports + 1)`` -- and at least
   twice as many records have it as destination port as have it as source port;
4. a record is **flipped** when its source port is a service port and its destination port is
   not; every column moves with it: addresses, ports, payload bytes, total bytes and packets.

``notes["flipped"]`` counts the flipped records; ``repair=False`` (CLI ``--no-repair``) keeps
every record as written. :func:`learn_service_ports` and :func:`swapped_mask` are public so the
heuristic can be inspected on its own.
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
    block_problems,
    canonical_table,
    empty_batch,
    float_column,
    header_mask,
    int_column,
    iter_segments,
    parse_delimited,
    proto_names,
    read_head,
)

__all__ = ["learn_service_ports", "read_vast", "sniff_vast", "swapped_mask"]

_SWAP_PAIRS = (
    ("firstSeenSrcIp", "firstSeenDestIp"),
    ("firstSeenSrcPort", "firstSeenDestPort"),
    ("firstSeenSrcPayloadBytes", "firstSeenDestPayloadBytes"),
    ("firstSeenSrcTotalBytes", "firstSeenDestTotalBytes"),
    ("firstSeenSrcPacketCount", "firstSeenDestPacketCount"),
)
_TYPES = {"TimeSeconds": pa.float64(), "durationSeconds": pa.float64(),
          **{c: pa.int64() for pair in _SWAP_PAIRS[1:] for c in pair}}
_USED = ("TimeSeconds", "ipLayerProtocol", "ipLayerProtocolCode", "durationSeconds",
         *[c for pair in _SWAP_PAIRS for c in pair])


def sniff_vast(head: bytes) -> str | None:
    """``"csv"`` when the header names VAST 2013's firstSeenSrcIp and firstSeenDestIp.

    >>> sniff_vast(b"TimeSeconds,parsedDate,dateTimeStr,ipLayerProtocol,ipLayerProtocolCode,"
    ...            b"firstSeenSrcIp,firstSeenDestIp,firstSeenSrcPort\\n")
    'csv'
    """
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        names = {h.strip() for h in line.split(",")}
        return "csv" if {"firstSeenSrcIp", "firstSeenDestIp"} <= names else None
    return None


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of an int64 array, sorted (numpy's sort is several times faster
    here than a hash table, and than np.unique).

    >>> _distinct(np.array([5, 1, 5, 3, 1])).tolist()
    [1, 3, 5]
    """
    s = np.sort(keys)
    out: np.ndarray = s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s
    return out


def learn_service_ports(src_ip: pa.Array, src_port: np.ndarray, dst_port: np.ndarray
                        ) -> np.ndarray:
    """Boolean array of 65536: which ports the data says are services (see module doc).

    ``src_port``/``dst_port`` are int arrays with -1 for "no port". (Destination addresses
    play no part: a service is known by how many distinct sources use its port.)
    """
    ok = (src_port >= 0) & (dst_port >= 0) & (src_port < 65536) & (dst_port < 65536)
    ok &= np.asarray(src_ip.is_valid(), dtype=bool)
    service = np.zeros(65536, dtype=bool)
    if not ok.any():
        return service
    # sources as integer ids; distinct (source, port) pairs by one hash pass over int64 keys
    enc = pc.dictionary_encode(src_ip.filter(pa.array(ok)))
    sid = np.asarray(enc.indices, dtype=np.int64)
    sp = np.asarray(src_port, dtype=np.int64)[ok]
    dp = np.asarray(dst_port, dtype=np.int64)[ok]
    pairs = _distinct(sid * 65536 + dp)
    fan_all = np.bincount(pairs // 65536, minlength=len(enc.dictionary))
    fan = fan_all[fan_all > 0]
    limit = max(50.0, 10.0 * float(np.median(fan)))
    keep = fan_all[sid] < limit  # the dominant scanners left out
    sid, sp, dp = sid[keep], sp[keep], dp[keep]
    if len(sid) == 0:
        return service
    clients = _distinct(dp * len(enc.dictionary) + sid)
    dst_clients = np.bincount(clients // len(enc.dictionary), minlength=65536)
    dst_recs = np.bincount(dp, minlength=65536)
    src_recs = np.bincount(sp, minlength=65536)
    used = dst_clients[dst_clients > 0]
    if used.size == 0:
        return service
    floor = max(3.0, float(np.percentile(used, 99)) + 1.0) if used.size >= 100 else 3.0
    out: np.ndarray = (dst_clients >= floor) & (dst_recs >= 2 * src_recs)
    return out


def swapped_mask(service: np.ndarray, src_port: np.ndarray, dst_port: np.ndarray) -> np.ndarray:
    """Records whose source port is a service port and destination port is not.

    >>> svc = np.zeros(65536, dtype=bool); svc[[80, 53]] = True
    >>> swapped_mask(svc, np.array([80, 40000, 53, -1]), np.array([40000, 80, 53, -1])).tolist()
    [True, False, False, False]
    """
    ok = (src_port >= 0) & (dst_port >= 0) & (src_port < 65536) & (dst_port < 65536)
    sp = np.where(ok, src_port, 0)
    dp = np.where(ok, dst_port, 0)
    out: np.ndarray = ok & service[sp] & ~service[dp]
    return out


class _Block:
    def __init__(self, tab: pa.Table, nos: np.ndarray, lines: pa.StringArray,
                 rejects: list[Reject], problems: list[tuple[np.ndarray, str]],
                 sp: np.ndarray, dp: np.ndarray) -> None:
        self.tab, self.nos, self.lines, self.rejects = tab, nos, lines, rejects
        self.problems, self.sp, self.dp = problems, sp, dp


def _prepare(path: str, lines: pa.StringArray, line_nos: np.ndarray, names: list[str]
             ) -> _Block:
    d = parse_delimited(path, lines, line_nos, names, ",", quoted=True,
                        include=[c for c in _USED if c in names], types=_TYPES)
    tab = d.table
    n = tab.num_rows
    problems: list[tuple[np.ndarray | None, str]] = []
    code = (pc.utf8_upper(pc.utf8_trim_whitespace(tab.column("ipLayerProtocolCode")))
            if "ipLayerProtocolCode" in tab.column_names else pa.nulls(n, pa.string()))
    no_ports = np.asarray(pc.fill_null(pc.equal(code, "OTHER"), False))
    ports = []
    for name in ("firstSeenSrcPort", "firstSeenDestPort"):
        if name in tab.column_names:
            val, bad = int_column(tab.column(name))
            problems.append((bad, f"{name}: not a number"))
            arr = np.asarray(pc.fill_null(val, -1), dtype=np.int64)
        else:
            arr = np.full(n, -1, np.int64)
        ports.append(np.where(no_ports, -1, arr))
    return _Block(tab, d.line_nos, d.lines, d.rejects, block_problems(*problems), *ports)


def _finish(path: str, b: _Block, service: np.ndarray | None) -> FlowBatch:
    tab, n = b.tab, b.tab.num_rows
    if n == 0:
        return empty_batch(path, records=len(b.rejects), rejects=b.rejects)
    flip = swapped_mask(service, b.sp, b.dp) if service is not None else np.zeros(n, bool)
    fl = pa.array(flip)

    def col(name: str) -> pa.Array | None:
        return tab.column(name) if name in tab.column_names else None

    def pair(a: str, z: str) -> tuple[pa.Array | None, pa.Array | None]:
        x, y = col(a), col(z)
        if x is None or y is None or not flip.any():
            return x, y
        return pc.if_else(fl, y, x), pc.if_else(fl, x, y)

    problems = list(b.problems)
    src_ip, dst_ip = pair("firstSeenSrcIp", "firstSeenDestIp")
    sp = np.where(flip, b.dp, b.sp)
    dp = np.where(flip, b.sp, b.dp)
    nums = {}
    for (a, z), (ca, cz) in zip(_SWAP_PAIRS[3:], (("src_bytes", "dst_bytes"),
                                                   ("src_pkts", "dst_pkts")), strict=True):
        x, y = pair(a, z)
        for raw, canon, name in ((x, ca, a), (y, cz, z)):
            if raw is None:
                nums[canon] = pa.nulls(n, pa.int64())
                continue
            val, bad = int_column(raw)
            problems += block_problems((bad, f"{name}: not a number"))
            nums[canon] = val
    ts, ts_bad = (float_column(col("TimeSeconds")) if col("TimeSeconds") is not None
                  else (pa.nulls(n, pa.float64()), None))
    problems += block_problems((ts_bad, "TimeSeconds: not a number"))
    dur, dur_bad = (float_column(col("durationSeconds")) if col("durationSeconds") is not None
                    else (pa.nulls(n, pa.float64()), None))
    problems += block_problems((dur_bad, "durationSeconds: not a number"))
    proto_raw = col("ipLayerProtocol")
    if proto_raw is None:
        proto_raw = col("ipLayerProtocolCode")
    proto = proto_names(proto_raw) if proto_raw is not None else pa.nulls(n, pa.string())
    dpk = np.asarray(pc.fill_null(nums["dst_pkts"], 0), dtype=np.int64)
    is_tcp = np.asarray(pc.fill_null(pc.equal(proto, "tcp"), False))
    state = np.where(dpk > 0, "CON", "INT").astype(object)
    state[is_tcp] = None
    cols = {
        "ts": ts, "duration": dur, "src_ip": src_ip, "dst_ip": dst_ip,
        "src_port": pa.array(sp, pa.int64(), mask=sp < 0),
        "dst_port": pa.array(dp, pa.int64(), mask=dp < 0), "proto": proto,
        "state": pa.array(state, pa.string()), **nums,
    }
    batch = canonical_table(cols, n=n, lines=b.nos, path=path, raw_lines=b.lines,
                            problems=problems)
    batch.rejects = sorted(b.rejects + batch.rejects, key=lambda r: r.line)
    batch.records += len(b.rejects)
    kept = np.isin(b.nos, np.asarray(batch.table.column("source_line")))
    batch.notes["flipped"] = int((flip & kept).sum())
    return batch


def read_vast(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
              progress: ProgressFn | None = None, repair: bool = True,
              learn_records: int = 2_000_000) -> Iterator[FlowBatch]:
    """Read VAST 2013 netflow CSV; with ``repair`` put swapped records back the right way."""
    path = os.fspath(path)
    head = read_head(path)
    if head.strip() and sniff_vast(head) is None:
        raise InputFormatError(path, None, "not VAST 2013 netflow CSV (no header naming "
                               "firstSeenSrcIp and firstSeenDestIp)")
    segments = iter_segments(
        path, block_bytes, progress,
        is_header=lambda ls: header_mask(ls, "firstSeenSrcIp"))
    held: list[_Block] = []
    service: np.ndarray | None = None
    learnt = 0
    for seg in segments:
        if seg.header is None:
            rejects = [Reject(path, int(no), "line before the VAST header", t.rstrip("\r\n"))
                       for no, t in zip(seg.line_nos.tolist(), seg.lines.to_pylist(),
                                        strict=True)]
            yield empty_batch(path, records=len(rejects), rejects=rejects)
            continue
        names = [h.strip() for h in seg.header.split(",")]
        blk = _prepare(path, seg.lines, seg.line_nos, names)
        if not repair:
            yield _finish(path, blk, None)
            continue
        if service is not None:
            yield _finish(path, blk, service)
            continue
        held.append(blk)
        learnt += blk.tab.num_rows
        if learnt >= learn_records:
            service = _learn(held)
            for h in held:
                yield _finish(path, h, service)
            held = []
    if held:
        service = _learn(held)
        for h in held:
            yield _finish(path, h, service)
    elif service is None:
        yield empty_batch(path)  # nothing to read: still one (empty) batch


def _learn(blocks: list[_Block]) -> np.ndarray:
    def ips(b: _Block, name: str) -> pa.Array:
        if name in b.tab.column_names:
            return pc.utf8_trim_whitespace(b.tab.column(name).combine_chunks().cast(pa.string()))
        return pa.nulls(b.tab.num_rows, pa.string())

    src = pa.concat_arrays([ips(b, "firstSeenSrcIp") for b in blocks])
    sp = np.concatenate([b.sp for b in blocks])
    dp = np.concatenate([b.dp for b in blocks])
    return learn_service_ports(src, sp, dp)
