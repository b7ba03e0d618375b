"""Stitching unidirectional flow records into connections.

NetFlow v5/v9, IPFIX without biflow support, nfdump and flow-tools store one record per
direction: ``A:p -> B:q`` and, separately, ``B:q -> A:p``. GraphFlow's canonical flow is a
connection with counters both ways (``dst_bytes``/``dst_pkts`` = what the responder sent), so
the two directions are joined here, vectorised, block by block:

* **Candidates** are one-way records: ``dst_pkts`` and ``dst_bytes`` both 0 or null (a biflow
  record that already carries both directions is never touched).
* **Match**: same protocol, mirrored endpoints (``src`` of one = ``dst`` of the other, ports
  included; ICMP and other port-less protocols match on addresses), and times that overlap or
  touch: the later record starts at most ``window`` seconds (default 60, NetFlow's usual
  inactive timeout) after the earlier one ends. Records are taken in start-time order and each
  record joins at most one other, so a connection split into several records per direction
  (active timeout) is stitched piece by piece.
* **Originator**: the record that started first. On equal start times (nfdump's CSV prints whole
  seconds) the record that carries a SYN without ACK, then the one from the higher (ephemeral)
  port, is the originator.
* **Result**: one flow with the originator's start, the later of the two ends, the responder's
  bytes/packets as ``dst_bytes``/``dst_pkts``, ``tcp_flags`` written ``<originator>_<responder>``
  (``S_RA``) and a Zeek-like ``state`` from those flags (:func:`ingest.base.flag_pair_state`),
  so S0/REJ-like states and "no bytes returned" are right. Provenance is the originator's line.
* **Leftovers**: a one-way record left unpaired next to a stitched pair of the same 5-tuple
  (within ``window``) joins that pair on the side its direction says -- an exporter that cut one
  direction in two (idle timeout on a quiet side), or two exchanges within the same second
  that whole-second times cannot order. ``stitched`` counts these too.
* Unmatched one-way records stay one-way flows (``dst_*`` = 0, state from their own flags).

Records still open at the end of a block (ending within ``window`` of the block's clock,
:func:`ingest.base.block_clock`: the median start of its last records, so that one record
stamped far ahead does not close the rest) are carried into the next block, so pairs that
straddle a block boundary in a time-ordered file are still found; at the end of the file
everything left is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.flowkey import mix64
from ingest.base import block_clock, flag_columns, native_ints, native_strings
from ingest.base import native_kernels as _native

__all__ = ["DEFAULT_WINDOW_S", "END", "FLAGS", "Stitcher"]

#: Seconds allowed between one direction's end and the other direction's start.
DEFAULT_WINDOW_S = 60.0
#: Auxiliary columns the reader adds to its canonical table before stitching.
FLAGS = "_flags"  # int64 TCP flag bits of the record's own direction, -1 unknown
END = "_end"  # int64 microseconds since the epoch: the record's last packet


#: What the join looks at: the 5-tuple and the times.
_KEY = ("ts", END, FLAGS, "src_ip", "dst_ip", "src_port", "dst_port", "proto")


def _one_way(t: pa.Table) -> np.ndarray:
    """Records with nothing counted the other way (``dst_pkts`` and ``dst_bytes`` 0 or null)."""
    def none(name: str) -> np.ndarray:
        return np.asarray(pc.fill_null(pc.equal(t.column(name), 0), True).combine_chunks(),
                          dtype=bool)
    mask: np.ndarray = none("dst_pkts") & none("dst_bytes")
    return mask


def _start_order(starts: np.ndarray) -> np.ndarray | None:
    """None when ``starts`` is already in order (time-ordered input, the common case), else
    the stable order that sorts it."""
    if len(starts) < 2 or bool((starts[1:] >= starts[:-1]).all()):
        return None
    order: np.ndarray = np.argsort(starts, kind="stable")
    return order


def _np(col: pa.Array | pa.ChunkedArray, fill: int = 0) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return np.array(pc.fill_null(arr, fill).to_numpy(zero_copy_only=False))


Pairs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _pairs_numpy(t: pa.Table, ts: np.ndarray, end: np.ndarray, flags: np.ndarray,
                 sport: np.ndarray, dport: np.ndarray, window_us: int) -> Pairs:
    """The join of one-way records ``t`` (the reference of ``ingest._native.pair``):
    ``(fwd, orig, resp, absorbed_into)`` -- per row whether its source is the smaller
    endpoint; the originator and responder rows of each pair; per row the originator a
    leftover record joins, else -1. ``end`` >= ``ts``, both in microseconds."""
    n = t.num_rows
    sip = t.column("src_ip").combine_chunks()
    dip = t.column("dst_ip").combine_chunks()
    # orientation-free key from integer ids (no text built per row): the endpoint with the
    # smaller (address id, port) first
    ids = np.asarray(pc.dictionary_encode(pa.concat_arrays([sip, dip])).indices,
                     dtype=np.int64)
    sid, did = ids[:n], ids[n:]
    fwd = (sid < did) | ((sid == did) & (sport <= dport))
    lo_id, hi_id = np.where(fwd, sid, did), np.where(fwd, did, sid)
    lo_p = np.where(fwd, sport, dport) + 1
    hi_p = np.where(fwd, dport, sport) + 1
    prid = np.asarray(pc.dictionary_encode(t.column("proto").combine_chunks()).indices,
                      dtype=np.int64)
    # rows are grouped by a 64-bit mix of (lo_id, hi_id, lo_p, hi_p, proto) -- cheaper than
    # numbering the pairs with a hash table; neighbours in that order are then compared
    # field by field, so a collision can never join two different 5-tuples
    key = mix64(lo_id, hi_id, (lo_p << 17) | hi_p, prid)
    # originator score (lower = more likely the originator) for equal start times
    syn_only = (flags >= 0) & ((flags & 0x02) > 0) & ((flags & 0x10) == 0)
    syn_ack = (flags >= 0) & ((flags & 0x12) == 0x12)
    score = np.where(syn_only, 0, np.where(syn_ack, 4, 2)) + (sport < dport).astype(int)
    # by key, start, score, then position (lexsort is stable); ts >= 0 (validated) and
    # score < 8, so start and score fold into one integer
    order = np.lexsort((ts * 8 + score, key))
    o = fwd[order]
    s_ts, s_end = ts[order], end[order]
    # same_tuple[i]: sorted rows i and i + 1 are the same 5-tuple
    same_tuple = np.ones(max(n - 1, 0), dtype=bool)
    for part in (key, lo_id, hi_id, lo_p, hi_p, prid):
        sp = part[order]
        same_tuple &= sp[:-1] == sp[1:]
    cand = np.zeros(n, dtype=bool)
    if n > 1:
        cand[:-1] = (same_tuple & (o[:-1] != o[1:])
                     & (s_ts[1:] <= s_end[:-1] + window_us))
    # greedy, left to right: within a run of consecutive candidates take every other one
    take = np.zeros(n, dtype=bool)
    if cand.any():
        idx = np.flatnonzero(cand)
        run_start = np.r_[True, idx[1:] != idx[:-1] + 1]
        run_id = np.cumsum(run_start) - 1
        first = idx[run_start][run_id]
        take[idx[(idx - first) % 2 == 0]] = True
    orig_pos = np.flatnonzero(take)
    resp_pos = orig_pos + 1
    orig = order[orig_pos]
    resp = order[resp_pos]
    paired = np.zeros(n, dtype=bool)
    paired[orig] = True
    paired[resp] = True
    new_end = end.copy()
    new_end[orig] = np.maximum(end[orig], end[resp])
    # leftovers: an unpaired one-way record next to a stitched pair of the same 5-tuple
    # (a direction the exporter split in two, or two exchanges within one second) joins
    # that pair, on the side its direction says
    absorbed_into = np.full(n, -1, np.int64)
    if len(orig_pos):
        pos = np.arange(n)
        is_anchor = np.zeros(n, dtype=bool)
        is_anchor[orig_pos] = True
        run_start = np.r_[True, ~same_tuple] if n > 1 else np.ones(1, dtype=bool)
        run_first = np.maximum.accumulate(np.where(run_start, pos, 0))
        prev_anchor = np.maximum.accumulate(np.where(is_anchor, pos, -1))
        prev_anchor = np.where(prev_anchor >= run_first, prev_anchor, -1)
        nxt = np.where(is_anchor, pos, n)[::-1]
        next_anchor = np.minimum.accumulate(nxt)[::-1]
        run_last = np.r_[~same_tuple, True] if n > 1 else np.ones(1, dtype=bool)
        run_end = np.minimum.accumulate(np.where(run_last, pos, n)[::-1])[::-1]
        next_anchor = np.where(next_anchor <= run_end, next_anchor, -1)
        s_paired = paired[order]
        loose = ~s_paired
        a_end = np.where(prev_anchor >= 0, new_end[order[np.maximum(prev_anchor, 0)]], 0)
        use_prev = loose & (prev_anchor >= 0) & (s_ts <= a_end + window_us)
        a_ts = np.where(next_anchor >= 0, ts[order[np.maximum(next_anchor, 0)]], 0)
        use_next = loose & ~use_prev & (next_anchor >= 0) & (a_ts <= s_end + window_us)
        target = np.where(use_prev, prev_anchor, np.where(use_next, next_anchor, -1))
        hit = target >= 0
        absorbed_into[order[hit]] = order[target[hit]]
    return fwd, orig, resp, absorbed_into


def _pairs_native(t: pa.Table, ts: np.ndarray, end: np.ndarray, flags: np.ndarray,
                  sport: np.ndarray, dport: np.ndarray, window_us: int) -> Pairs:
    """:func:`_pairs_numpy` in one native pass: a hash table groups the 5-tuples (no sort of
    the whole block), each group is ordered by start and score and walked once."""
    assert _native is not None
    n = t.num_rows

    fwd = np.empty(n, np.uint8)
    partner = np.empty(n, np.int64)
    absorbed_into = np.empty(n, np.int64)
    _native.pair(n, *native_strings(t.column("src_ip")), *native_strings(t.column("dst_ip")),
                 *native_strings(t.column("proto")),
                 *native_ints(sport, dport, flags, ts, end), window_us, fwd, partner,
                 absorbed_into)
    orig = np.flatnonzero(partner >= 0)
    return fwd.view(bool), orig, partner[orig], absorbed_into


@dataclass(frozen=True)
class _Join:
    """The join of one-way records: their starts, ends (>= start) and own flags, and the
    pairs (:func:`_pairs_numpy`'s result, natively when built)."""

    ts: np.ndarray
    end: np.ndarray
    flags: np.ndarray
    fwd: np.ndarray
    orig: np.ndarray
    resp: np.ndarray
    absorbed_into: np.ndarray

    @classmethod
    def of(cls, t: pa.Table, window_us: int) -> _Join:
        ts = _np(t.column("ts").cast(pa.int64()))
        end = np.maximum(_np(t.column(END)), ts)
        flags = _np(t.column(FLAGS), -1)
        pairs = _pairs_native if _native is not None else _pairs_numpy
        got = pairs(t, ts, end, flags, _np(t.column("src_port").cast(pa.int64()), -1),
                    _np(t.column("dst_port").cast(pa.int64()), -1), window_us)
        return cls(ts, end, flags, *got)


@dataclass
class Stitcher:
    """Joins the two directions of connections across the blocks of one file."""

    window_s: float = DEFAULT_WINDOW_S
    stitched: int = 0
    _carry: pa.Table | None = field(default=None, repr=False)

    def push(self, table: pa.Table, *, final: bool = False) -> pa.Table:
        """Add a block (canonical columns + ``_native_id`` + ``_flags`` + ``_end``); return the
        flows that are complete (canonical columns + ``_native_id``), in start-time order
        within the block."""
        if self._carry is not None and self._carry.num_rows:
            table = pa.concat_tables([self._carry, table])
            self._carry = None
        if table.num_rows == 0:
            return table.drop_columns([FLAGS, END])
        one_way = _one_way(table)
        if one_way.all():
            return self._stitch(table, final)[0]
        # records that carry both directions are never touched: only the one-way ones go
        # through the join (so a biflow between two halves of one 5-tuple does not keep them
        # apart); the output is in start-time order, then position in the block
        ts = _np(table.column("ts").cast(pa.int64()))
        plain = table.drop_columns([FLAGS, END])
        if not one_way.any():
            order = _start_order(ts)
            return plain if order is None else plain.take(pa.array(order))
        sub_pos = np.flatnonzero(one_way)
        join = _Join.of(table.select(list(_KEY)).take(pa.array(sub_pos)),
                        int(self.window_s * 1e6))
        if _start_order(ts) is None:
            fast = self._unjoined(table, plain, ts, sub_pos, join, final)
            if fast is not None:
                return fast
        out, kept = self._stitch(table.take(pa.array(sub_pos)), final, int(block_clock(ts)),
                                 join)
        # each flow is taken from its place in the block: a biflow from the block as it is, a
        # joined record from the join's output (at its originator's place; the other half and
        # absorbed pieces drop out) -- one take over both, in position order, then by start
        n = table.num_rows
        source = np.full(n, -1, np.int64)
        bi = np.flatnonzero(~one_way)
        source[bi] = bi
        at = sub_pos[kept]
        source[at] = n + np.arange(len(at))
        starts = ts.copy()
        starts[at] = _np(out.column("ts").cast(pa.int64()))
        live = source >= 0
        rows = source[live]
        order = _start_order(starts[live])
        if order is not None:
            rows = rows[order]
        return pa.concat_tables([plain, out]).take(pa.array(rows))

    def _unjoined(self, table: pa.Table, plain: pa.Table, ts: np.ndarray,
                  sub_pos: np.ndarray, j: _Join, final: bool) -> pa.Table | None:
        """The common block of a biflow sensor (Argus): in start order, and no one-way record
        joins another. Then only the one-way records' state and flags change, and those still
        open are at the end: the block up to the first of them is the output as it is (a slice,
        two columns patched), the rest waits for the next block. ``j``: the join of the
        one-way records ``sub_pos``, tried on the 5-tuples and times alone before any other
        column is gathered. None when a record joins, or when the rest would be more than an
        eighth of the block (a long one-way record still open)."""
        window_us = int(self.window_s * 1e6)
        orig, absorbed_into, end, flags = j.orig, j.absorbed_into, j.end, j.flags
        if len(orig) or (absorbed_into >= 0).any():
            return None
        n = table.num_rows
        open_ = np.zeros(len(sub_pos), dtype=bool) if final else (
            end + window_us >= int(block_clock(ts)))
        cut = int(sub_pos[np.argmax(open_)]) if open_.any() else n
        if n - cut > n // 8:
            return None
        self._carry = table.slice(cut) if cut < n else None
        head = int(np.searchsorted(sub_pos, cut))
        rows = pa.array(sub_pos[:head])
        state, tcp_flags = _flag_columns(
            plain.select(["proto", "state", "tcp_flags"]).take(rows), flags[:head],
            flags[:head], np.zeros(head, np.int64),
            _np(table.column("dst_pkts").take(rows), -1))
        mask = np.zeros(cut, dtype=bool)
        mask[sub_pos[:head]] = True
        patch = pa.array(mask)
        result = plain.slice(0, cut)
        for name, arr in (("state", state), ("tcp_flags", tcp_flags)):
            i = result.schema.get_field_index(name)
            result = result.set_column(i, result.schema.field(name), pc.replace_with_mask(
                result.column(i).combine_chunks(), patch, arr.cast(result.schema.field(name).type)))
        return result

    def _stitch(self, t: pa.Table, final: bool, newest: int | None = None,
                join: _Join | None = None) -> tuple[pa.Table, np.ndarray]:
        """The block's flows after the join and the position in ``t`` of each. Every row of
        ``t`` is a one-way record (:meth:`push` keeps biflows out); ``newest``: the clock of
        the whole block (default: of ``t``; :func:`~ingest.base.block_clock`), for what is
        still open; ``join``: the join of ``t``'s rows when already worked out."""
        n = t.num_rows
        window_us = int(self.window_s * 1e6)
        j = join if join is not None else _Join.of(t, window_us)
        ts, end, flags, fwd = j.ts, j.end, j.flags, j.fwd
        orig, resp, absorbed_into = j.orig, j.resp, j.absorbed_into
        paired = np.zeros(n, dtype=bool)
        paired[orig] = True
        paired[resp] = True
        new_end = end.copy()
        new_end[orig] = np.maximum(end[orig], end[resp])
        absorbed = absorbed_into >= 0
        # carry: one-way records that are not paired and may still meet their other half
        keep = np.ones(n, dtype=bool)
        if not final:
            newest = int(block_clock(ts)) if newest is None else newest
            pending = ~paired & ~absorbed & (end + window_us >= newest)
            # a pair is complete; anything else still open waits for the next block
            keep = ~pending
            if pending.any():
                self._carry = t.filter(pa.array(pending))
        self.stitched += len(orig) + int(absorbed.sum())

        # responder counters become the originator's dst_*
        src_b = _np(t.column("src_bytes"), -1)
        src_p = _np(t.column("src_pkts"), -1)
        new_src_b, new_src_p = src_b.copy(), src_p.copy()
        new_dst_b = _np(t.column("dst_bytes"), -1)
        new_dst_p = _np(t.column("dst_pkts"), -1)
        src_flags = flags.copy()
        dst_flags = np.zeros_like(flags)
        new_dst_b[orig] = src_b[resp]
        new_dst_p[orig] = src_p[resp]
        dst_flags[orig] = flags[resp]
        new_ts = ts.copy()
        if absorbed.any():
            u = np.flatnonzero(absorbed)
            tgt = absorbed_into[u]
            same = fwd[u] == fwd[tgt]
            for cond, b_arr, p_arr, f_arr in ((same, new_src_b, new_src_p, src_flags),
                                              (~same, new_dst_b, new_dst_p, dst_flags)):
                uu, tt = u[cond], tgt[cond]
                np.add.at(b_arr, tt, np.maximum(src_b[uu], 0))
                np.add.at(p_arr, tt, np.maximum(src_p[uu], 0))
                np.bitwise_or.at(f_arr, tt, np.maximum(flags[uu], 0))
            np.maximum.at(new_end, tgt, end[u])
            np.minimum.at(new_ts, tgt, ts[u])
        out_mask = keep & ~absorbed
        out_mask[resp] = False
        grown = paired.copy()
        grown[absorbed_into[absorbed]] = True
        # only the flows that leave are built, in start order: k are their rows in t
        k = np.flatnonzero(out_mask)
        by_start = _start_order(new_ts[k])
        if by_start is not None:
            k = k[by_start]
        out = t.drop_columns([FLAGS, END]).take(pa.array(k))
        # every flow (paired or not) gets the flag-pair state and flags
        state, tcp_flags = _flag_columns(out, flags[k], src_flags[k], dst_flags[k],
                                         new_dst_p[k])
        dur = (new_end[k] - new_ts[k]) / 1e6

        def ints(x: np.ndarray) -> pa.Array:
            return pa.array(x, pa.int64(), mask=x < 0)

        cols = {
            "ts": pa.array(new_ts[k]).cast(pa.timestamp("us", tz="UTC")),
            "duration": pc.if_else(pa.array(grown[k]), pa.array(dur),
                                   out.column("duration").combine_chunks()),
            "src_bytes": ints(new_src_b[k]), "src_pkts": ints(new_src_p[k]),
            "dst_bytes": ints(new_dst_b[k]), "dst_pkts": ints(new_dst_p[k]),
            "state": state, "tcp_flags": tcp_flags,
        }
        for name, arr in cols.items():
            i = out.schema.get_field_index(name)
            out = out.set_column(i, out.schema.field(name), arr.cast(out.schema.field(name).type))
        return out, k


def _flag_columns(t: pa.Table, flags: np.ndarray, src_flags: np.ndarray, dst_flags: np.ndarray,
                  dst_pkts: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """``state`` and ``tcp_flags`` of the flows ``t`` from the flags each side sent (-1
    unknown; ``flags``: the record's own), where they tell; else what ``t`` had."""
    s_flags = np.where(flags < 0, -1, np.clip(src_flags, -1, 255))
    d_flags = np.where(s_flags < 0, -1, np.clip(dst_flags, -1, 255))

    def spread(got: pa.Array, name: str) -> pa.Array:
        old = t.column(name)
        if got.null_count == 0 or old.null_count == len(old):
            return got
        return pc.coalesce(got, old.combine_chunks())

    state, letters = flag_columns(t.column("proto"), s_flags, d_flags, dst_pkts)
    return spread(state, "state"), spread(letters, "tcp_flags")
