"""Packets -> bidirectional flows, vectorised, with the same timeout rules as the pcap reader.

A flow is the packets of one 5-tuple, both directions together (``A:p -> B:q`` and ``B:q ->
A:p``), cut by two timeouts (the pcap reader, :mod:`ingest.pcap`, uses this module too):

* **idle** (:data:`IDLE_TIMEOUT_S`, 120 s): a gap longer than this between two packets of the
  5-tuple starts a new flow;
* **active** (:data:`ACTIVE_TIMEOUT_S`, 1800 s): a flow is cut every 1800 s after its first
  packet, however busy.

The originator (``src``) is the sender of the flow's first packet. Per direction: bytes (IP
level), packets, the OR of the TCP flags; ``tcp_flags`` is written ``<originator>_<responder>``
(``S_RA``), ``state`` comes from :func:`ingest.base.flag_pair_state`. Provenance is the line of
the flow's first packet.

Packets without time (a reduced tshark field set) make **one flow per 5-tuple per file**, timed
at the ``start`` given to the reader (default 0, 1970-01-01 UTC).

Blocks are aggregated one at a time; flows still open at the end of a block (last packet
within the idle timeout of the block's clock, :func:`ingest.base.block_clock`; or all of them
without time) are carried into the next block as partial flows and merged there, so memory is
bounded by the open flows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.base import block_clock, flag_columns, native_ints, native_strings
from ingest.base import native_kernels as _native

__all__ = ["ACTIVE_TIMEOUT_S", "IDLE_TIMEOUT_S", "Aggregator", "Packets", "flows_table_columns"]

IDLE_TIMEOUT_S = 120.0
ACTIVE_TIMEOUT_S = 1800.0


@dataclass
class Packets:
    """A block of packets (or partial flows), one row each; ints use -1 for "none"."""

    first: np.ndarray  # float64 seconds (NaN: no time)
    last: np.ndarray
    src: pa.Array  # string
    dst: pa.Array
    sport: np.ndarray  # int64
    dport: np.ndarray
    proto: pa.Array  # string
    fwd_bytes: np.ndarray  # bytes sent src -> dst of this row
    rev_bytes: np.ndarray  # bytes sent dst -> src (partial flows only)
    fwd_pkts: np.ndarray
    rev_pkts: np.ndarray
    fwd_flags: np.ndarray  # -1 unknown
    rev_flags: np.ndarray
    line: np.ndarray  # int64 line of the first packet
    #: one packet per row, as :meth:`of_packets` makes them (``last`` is ``first``, the bytes
    #: and flags are the sender's, one packet): the native kernel reads only those columns
    plain: bool = False

    @classmethod
    def of_packets(cls, ts: np.ndarray, src: pa.Array, dst: pa.Array, sport: np.ndarray,
                   dport: np.ndarray, proto: pa.Array, length: np.ndarray, flags: np.ndarray,
                   line: np.ndarray) -> Packets:
        n = len(line)
        # read-only, no memory: the native kernel does not read them (see ``plain``)
        zero, one = np.broadcast_to(np.int64(0), n), np.broadcast_to(np.int64(1), n)
        flags = np.asarray(flags, np.int64)
        return cls(ts, ts, src, dst, sport, dport, proto, length, zero, one, zero, flags,
                   flags >> 63, line, plain=True)  # the responder's flags: 0, -1 when unknown

    def __len__(self) -> int:
        return len(self.line)

    def take(self, idx: np.ndarray) -> Packets:
        ia = pa.array(idx, pa.int64())
        return Packets(self.first[idx], self.last[idx], self.src.take(ia), self.dst.take(ia),
                       self.sport[idx], self.dport[idx], self.proto.take(ia),
                       self.fwd_bytes[idx], self.rev_bytes[idx], self.fwd_pkts[idx],
                       self.rev_pkts[idx], self.fwd_flags[idx], self.rev_flags[idx],
                       self.line[idx], self.plain)

    def slice(self, lo: int, hi: int) -> Packets:
        """Rows ``lo:hi`` (views, no copy)."""
        s = slice(lo, hi)
        return Packets(self.first[s], self.last[s], self.src[lo:hi], self.dst[lo:hi],
                       self.sport[s], self.dport[s], self.proto[lo:hi], self.fwd_bytes[s],
                       self.rev_bytes[s], self.fwd_pkts[s], self.rev_pkts[s], self.fwd_flags[s],
                       self.rev_flags[s], self.line[s], self.plain)

    @staticmethod
    def concat(a: Packets, b: Packets) -> Packets:
        def c(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.concatenate([x, y])

        return Packets(c(a.first, b.first), c(a.last, b.last), _cat_text(a.src, b.src),
                       _cat_text(a.dst, b.dst), c(a.sport, b.sport), c(a.dport, b.dport),
                       _cat_text(a.proto, b.proto), c(a.fwd_bytes, b.fwd_bytes),
                       c(a.rev_bytes, b.rev_bytes), c(a.fwd_pkts, b.fwd_pkts),
                       c(a.rev_pkts, b.rev_pkts), c(a.fwd_flags, b.fwd_flags),
                       c(a.rev_flags, b.rev_flags), c(a.line, b.line), a.plain and b.plain)


def _cat_text(x: pa.Array, y: pa.Array) -> pa.Array:
    return pa.concat_arrays([x.cast(pa.string()), y.cast(pa.string())])


def _no_nan(a: np.ndarray) -> np.ndarray:
    """``a``, NaN as 0 (no time: the kernels compare numbers)."""
    return np.nan_to_num(a, nan=0.0) if np.isnan(a).any() else a


def _or_reduce(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Bitwise OR per segment; -1 (unknown) only when every value of the segment is -1."""
    known = values >= 0
    ored = np.bitwise_or.reduceat(np.where(known, values, 0), starts)
    any_known = np.logical_or.reduceat(known, starts)
    return np.where(any_known, ored, -1)


@dataclass
class Aggregator:
    """Packets -> flows across the blocks of one file (see module doc)."""

    idle_s: float = IDLE_TIMEOUT_S
    active_s: float = ACTIVE_TIMEOUT_S
    _carry: Packets | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not (self.idle_s > 0 and self.active_s > 0):
            raise ValueError(f"timeouts must be positive seconds (idle {self.idle_s}, active "
                             f"{self.active_s})")

    def push(self, p: Packets, *, final: bool = False) -> Packets:
        """Add packets; return the flows that are complete, as :class:`Packets` rows where
        ``src`` is the originator (``fwd_*``: originator -> responder)."""
        flows = self._push(p, final, None)
        assert flows is not None
        return flows

    def push_if(self, p: Packets, accept: Callable[[Packets], bool]) -> Packets | None:
        """:meth:`push`, if ``accept`` says yes to every flow the packets made (complete or
        still open); else None, and the packets are not added (nothing changes)."""
        return self._push(p, False, accept)

    def _push(self, p: Packets, final: bool, accept: Callable[[Packets], bool] | None
              ) -> Packets | None:
        carry = self._carry if self._carry is not None and len(self._carry) else None
        parts = [x for x in (carry, p) if x is not None and len(x)]
        if not parts:
            self._carry = None
            return p
        untimed = all(bool(np.isnan(x.first).all()) for x in parts)
        idle = np.inf if untimed else self.idle_s
        active = np.inf if untimed else self.active_s
        # the flows still open at the end of the block (their last packet within the idle
        # timeout of the block's clock) are carried into the next; none at the end, and
        # without time every flow is (one per 5-tuple per file)
        newest = np.nan if final or untimed else block_clock(parts[-1].last)
        if _native is not None:
            flows, nclosed = _flows_native(carry, p, idle, active, newest)
        else:
            both = p if carry is None else Packets.concat(carry, p)
            flows, nclosed = _open_last(_flows_numpy(
                both, _no_nan(both.first), _no_nan(both.last), idle, active), idle, newest)
        if untimed:
            flows.first = np.full(len(flows), np.nan)
            flows.last = np.full(len(flows), np.nan)
        if accept is not None and not accept(flows):
            return None
        self._carry = None
        if final:
            return flows
        if untimed:
            self._carry = flows
            return flows.slice(0, 0)
        if nclosed < len(flows):
            self._carry = flows.slice(nclosed, len(flows))
        return flows.slice(0, nclosed)


def _open_last(flows: Packets, idle: float, newest: float) -> tuple[Packets, int]:
    """``flows`` with those still open (``last + idle >= newest``; none when ``newest`` is NaN)
    moved after the others, in (start, line) order: with the next block's packets after them,
    the rows usually arrive sorted and need no full sort (see :func:`_key_order`; natively,
    the one-pass walk). Also returns how many are not open."""
    open_ = flows.last + idle >= newest
    if not open_.any():
        return flows, len(flows)
    idx = np.flatnonzero(open_)
    order = np.concatenate([np.flatnonzero(~open_),
                            idx[np.lexsort((flows.line[idx], flows.first[idx]))]])
    return flows.take(order), len(flows) - len(idx)


def _flows_numpy(p: Packets, first: np.ndarray, last: np.ndarray, idle: float,
                 active: float) -> Packets:
    """The flows of a block (the reference of ``ingest._native.aggregate``): rows of one
    5-tuple in (start, line) order, cut by the timeouts, summed from the originator's side;
    in the order of each flow's first row in the block. ``first``/``last`` without NaN."""
    # integer ids for addresses and protocols: the key is compared as numbers, not text
    n0 = len(p)
    ids = np.asarray(pc.dictionary_encode(pa.concat_arrays(
        [_plain(p.src), _plain(p.dst)])).indices, dtype=np.int64)
    sid, did = ids[:n0], ids[n0:]
    prid = np.asarray(pc.dictionary_encode(_plain(p.proto)).indices, dtype=np.int64)
    a_is_src = (sid < did) | ((sid == did) & (p.sport <= p.dport))
    lo_id, hi_id = np.where(a_is_src, sid, did), np.where(a_is_src, did, sid)
    lo_p = np.where(a_is_src, p.sport, p.dport)
    hi_p = np.where(a_is_src, p.dport, p.sport)
    order = _key_order(first, p.line, prid, lo_id, hi_id, lo_p, hi_p)
    key_change = np.ones(n0, dtype=bool)
    if n0 > 1:
        kc = np.zeros(n0 - 1, dtype=bool)
        for col in (prid, lo_id, hi_id, lo_p, hi_p):
            c = col[order]
            kc |= c[1:] != c[:-1]
        key_change[1:] = kc
    k = np.cumsum(key_change)  # in sorted order
    f, la = first[order], last[order]
    n = len(order)
    new = np.ones(n, dtype=bool)
    if n > 1:
        same = k[1:] == k[:-1]
        # latest end seen so far within the 5-tuple (partial flows end after they start)
        prev_last = _segmented_cummax(la, np.flatnonzero(np.r_[True, ~same]))
        new[1:] = ~same | (f[1:] - prev_last[:-1] > idle)
    seg_start_idx = np.flatnonzero(new)
    seg_id = np.cumsum(new) - 1
    if np.isfinite(active):
        seg_first = f[seg_start_idx][seg_id]
        sub = np.floor((f - seg_first) / active).astype(np.int64)
        new = new | np.r_[True, (sub[1:] != sub[:-1]) & (seg_id[1:] == seg_id[:-1])]
    starts = np.flatnonzero(new)
    s = p.take(order)
    # per element direction relative to the flow's first element
    a_src = a_is_src[order]
    flow_of = np.cumsum(new) - 1
    orig_a = a_src[starts][flow_of]
    same_dir = a_src == orig_a
    fb = np.where(same_dir, s.fwd_bytes, s.rev_bytes)
    rb = np.where(same_dir, s.rev_bytes, s.fwd_bytes)
    fp = np.where(same_dir, s.fwd_pkts, s.rev_pkts)
    rp = np.where(same_dir, s.rev_pkts, s.fwd_pkts)
    ff = np.where(same_dir, s.fwd_flags, s.rev_flags)
    rf = np.where(same_dir, s.rev_flags, s.fwd_flags)
    flows = s.take(starts)
    flows.plain = False
    flows.first = np.minimum.reduceat(f, starts)
    flows.last = np.maximum.reduceat(la, starts)
    flows.fwd_bytes = np.add.reduceat(fb, starts)
    flows.rev_bytes = np.add.reduceat(rb, starts)
    flows.fwd_pkts = np.add.reduceat(fp, starts)
    flows.rev_pkts = np.add.reduceat(rp, starts)
    flows.fwd_flags = _or_reduce(ff, starts)
    flows.rev_flags = _or_reduce(rf, starts)
    flows.line = np.minimum.reduceat(s.line, starts)
    # flows in the order of their first row's place in the block (packets as captured)
    return flows.take(np.argsort(order[starts], kind="stable"))


def _flows_native(carry: Packets | None, p: Packets, idle: float, active: float,
                  newest: float) -> tuple[Packets, int]:
    """:func:`_open_last` of :func:`_flows_numpy` of the carried partial flows followed by
    ``p``, in one native pass (a hash table instead of sorting the block). Plain packets are
    handed over beside the partial flows, not copied behind them."""
    assert _native is not None
    if carry is not None and not p.plain:
        p, carry = Packets.concat(carry, p), None
    full, pk = (carry, p) if p.plain else (p, None)
    # the 5-tuples of both, one after the other (the kernel groups rows by them)
    if full is not None and pk is not None:
        src, dst, proto = (_cat_text(full.src, pk.src), _cat_text(full.dst, pk.dst),
                           _cat_text(full.proto, pk.proto))
        sport, dport = (np.concatenate([full.sport, pk.sport]),
                        np.concatenate([full.dport, pk.dport]))
    else:  # p alone
        src, dst, proto, sport, dport = p.src, p.dst, p.proto, p.sport, p.dport
    n, nc = len(sport), 0 if full is None else len(full)
    f0, i0 = np.zeros(0), np.zeros(0, np.int64)
    out_i = [np.empty(n, np.int64) for _ in range(8)]
    out_f = [np.empty(n, np.float64) for _ in range(2)]
    start, fb, rb, fp, rp, ff, rf, line = out_i
    nflows, nclosed = _native.aggregate(
        n, nc, *native_strings(src), *native_strings(dst), *native_strings(proto),
        *native_ints(sport, dport),
        *((f0, f0) if full is None else (np.ascontiguousarray(_no_nan(full.first), np.float64),
                                         np.ascontiguousarray(_no_nan(full.last), np.float64))),
        *((i0,) * 7 if full is None else native_ints(
            full.line, full.fwd_bytes, full.rev_bytes, full.fwd_pkts, full.rev_pkts,
            full.fwd_flags, full.rev_flags)),
        *((f0,) if pk is None else (np.ascontiguousarray(_no_nan(pk.first), np.float64),)),
        *((i0,) * 3 if pk is None else native_ints(pk.line, pk.fwd_bytes, pk.fwd_flags)),
        float(idle), float(active), float(newest), start, out_f[0], out_f[1], fb, rb, fp, rp,
        ff, rf, line)
    # the 5-tuple is the first row's; every counter and time comes from the kernel
    k = start[:nflows]
    ia = pa.array(k)
    return Packets(out_f[0][:nflows], out_f[1][:nflows], src.take(ia), dst.take(ia),
                   sport[k], dport[k], proto.take(ia), fb[:nflows], rb[:nflows],
                   fp[:nflows], rp[:nflows], ff[:nflows], rf[:nflows], line[:nflows]), nclosed


def _key_order(first: np.ndarray, line: np.ndarray, *key: np.ndarray) -> np.ndarray:
    """Row order by 5-tuple ``key`` (ids and ports, ``-1`` for none), then start, then line.

    The 5-tuple is folded into one integer (pair of address ids numbered by a hash table,
    ports, protocol id), so rows already in (start, line) order -- packets as captured --
    need one stable integer sort instead of a seven-key lexsort.
    """
    prid, lo_id, hi_id, lo_p, hi_p = key
    n = len(line)
    if n < 2:
        return np.arange(n)
    nid = int(max(lo_id.max(), hi_id.max())) + 1
    pair = np.asarray(pc.dictionary_encode(pa.array(lo_id * nid + hi_id)).indices,
                      dtype=np.int64)
    npairs, nprid = int(pair.max()) + 1, int(prid.max()) + 1
    if nid >= 1 << 31 or npairs * 65537 * 65537 * nprid >= 1 << 62:
        return np.lexsort((line, first, hi_p, lo_p, hi_id, lo_id, prid))
    folded = ((pair * 65537 + lo_p + 1) * 65537 + hi_p + 1) * nprid + prid
    d_first = np.diff(first)
    if ((d_first > 0) | ((d_first == 0) & (np.diff(line) > 0))).all():
        pre = np.arange(n)
    else:
        pre = np.lexsort((line, first))
    return pre[np.argsort(folded[pre], kind="stable")]


def _plain(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if pa.types.is_dictionary(a.type):
        a = a.dictionary_decode()
    return a.cast(pa.string())


def _segmented_cummax(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running maximum that restarts at each index in ``starts`` (sorted, starts[0] == 0).

    >>> _segmented_cummax(np.array([3.0, 1.0, 5.0, 2.0, 0.5, 4.0]), np.array([0, 3])).tolist()
    [3.0, 3.0, 5.0, 2.0, 2.0, 4.0]
    """
    if len(values) == 0:
        return values
    # exact: the values' ranks (integers), each segment lifted above the previous ones so that
    # one global running maximum cannot leak across
    seg = np.zeros(len(values), dtype=np.int64)
    seg[starts[1:]] = 1
    seg = np.cumsum(seg)
    uniq, rank = np.unique(values, return_inverse=True)
    span = len(uniq)
    out: np.ndarray = uniq[np.maximum.accumulate(rank + seg * span) - seg * span]
    return out


def flows_table_columns(flows: Packets) -> dict[str, pa.Array]:
    """Canonical columns (without provenance) for aggregated flows."""
    # the responder's flags count only where the originator's are known
    rev = np.where(flows.fwd_flags < 0, -1, np.clip(flows.rev_flags, 0, 255))
    state, letters = flag_columns(flows.proto, np.clip(flows.fwd_flags, -1, 255), rev,
                                  flows.rev_pkts)
    dur = np.where(np.isnan(flows.first), np.nan, flows.last - flows.first)
    return {
        "ts": pa.array(flows.first),
        "duration": pa.array(dur, mask=np.isnan(dur)),
        "src_ip": flows.src, "dst_ip": flows.dst,
        "src_port": pa.array(flows.sport, pa.int64(), mask=flows.sport < 0),
        "dst_port": pa.array(flows.dport, pa.int64(), mask=flows.dport < 0),
        "proto": flows.proto, "state": state, "tcp_flags": letters,
        "src_bytes": pa.array(flows.fwd_bytes), "dst_bytes": pa.array(flows.rev_bytes),
        "src_pkts": pa.array(flows.fwd_pkts), "dst_pkts": pa.array(flows.rev_pkts),
    }
