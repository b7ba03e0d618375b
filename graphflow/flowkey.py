"""Flow keys: a stable 128-bit digest of each flow's content, computed vectorised.

``flow_key`` (see :mod:`graphflow.schema`) identifies a flow by what it is, not by where it
was read, so that loading the same records again (another file name, another header layout,
an overlapping file) adds nothing. It is defined here, once, in plain integer arithmetic
(numpy, no library whose hash may change between versions), so that a key computed today
equals the key computed by any later GraphFlow on any machine:

* every field becomes one 64-bit word: integers as themselves (+1, so that 0 differs from
  null, which is 0), the start time in µs, the duration in rounded µs, text by
  :func:`text_words` (its UTF-8 bytes, 8 at a time, each folded in with the murmur3
  finaliser, length first);
* the words, in a fixed order, are folded into two 64-bit lanes with different seeds and
  multipliers; the key is the two lanes as 32 lowercase hex digits.

The fields: start time, source address, source port, destination address, destination port,
protocol, then either the sensor's own id of the record (Zeek's uid), or, where the source
has none, the duration, the byte and packet counters of both directions, the state and the
TCP flags. Two records that agree on all of these are the same flow; the ingest numbers
identical records within one file (``<key>.1``, ``<key>.2``, ...) so that they stay distinct.

The examples below pin the definition: if one of them changes, keys no longer match those of
existing workspaces and the workspace format version must change with it. Version 2 of the
workspace format (version 1 keyed flows by an MD5 of the same fields as text, at about twice
the cost).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["flow_keys", "mix64", "text_words"]

_U64 = np.uint64
_C1 = _U64(0xFF51AFD7ED558CCD)
_C2 = _U64(0xC4CEB9FE1A85EC53)
_SEED_A = _U64(0x9E3779B97F4A7C15)
_SEED_B = _U64(0xD6E8FEB86659FD93)
_MUL_A = _U64(0x9FB21C651E98DF25)
_MUL_B = _U64(0xA0761D6478BD642F)
_S33 = _U64(33)
_S29 = _U64(29)
_S32 = _U64(32)
#: ``_MASKS[k]`` keeps the low ``k`` bytes of a little-endian word
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def _fmix(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place."""
    h ^= h >> _S33
    h *= _C1
    h ^= h >> _S33
    h *= _C2
    h ^= h >> _S33
    return h


def text_words(values: pa.Array) -> np.ndarray:
    """One uint64 per row for a text column: nulls 0, every string (the empty one too) a mix
    of its length and its UTF-8 bytes, 8 at a time (little-endian, the last word zero-padded).

    Low-cardinality columns are worked out per distinct value.

    >>> [hex(int(x)) for x in text_words(pa.array(["tcp", "", None, "tcp"]))]
    ['0xeae1ec9f7970336e', '0x9ca066f1a4ab2eea', '0x0', '0xeae1ec9f7970336e']
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    n = len(values)
    if values.null_count == n:
        return np.zeros(n, dtype=np.uint64)
    # few distinct values (a sample says so): work per value
    if n >= 4096 and len(pc.unique(values.slice(0, 2048))) <= 1024:
        enc = pc.dictionary_encode(values)
        if len(enc.dictionary) * 4 < n:
            per_value = text_words(enc.dictionary)
            if not enc.indices.null_count:
                spread: np.ndarray = per_value[np.asarray(enc.indices)]
                return spread
            idx = np.asarray(pc.fill_null(enc.indices, -1), dtype=np.int64)
            out: np.ndarray = np.where(idx >= 0, per_value[np.maximum(idx, 0)], _U64(0))
            return out
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=n + 1,
                            offset=values.offset * 4).astype(np.int64)
    data = values.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    padded = np.zeros(len(raw) + 8, dtype=np.uint8)
    padded[: len(raw)] = raw
    # every 8-byte window of the data, at any byte offset (an unaligned, overlapping view)
    windows = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    h = lengths.astype(np.uint64)
    h += _SEED_A
    _fmix(h)
    width = int(lengths[0]) if n else 0
    if width and not values.null_count and bool((lengths == width).all()):
        # every string as long as the first (sensor ids such as Zeek's uid): the words are
        # the columns of one zero-padded (rows, words) matrix, no per-word gather
        start = int(starts[0])
        cells = np.zeros((n, -(-width // 8) * 8), dtype=np.uint8)
        cells[:, :width] = raw[start: start + n * width].reshape(n, width)
        for word in cells.view("<u8").T:
            h ^= word
            h *= _MUL_A
            _fmix(h)
        return h
    longest = int(lengths.max()) if n else 0
    last = len(windows) - 1
    for k in range(0, longest, 8):
        # only the strings still going on: a word is never folded in past a string's end
        # (else the value would depend on the longest string beside it)
        live = lengths > k
        rows = None if live.all() else np.flatnonzero(live)
        part = h if rows is None else h[rows]
        at = starts + k if rows is None else starts[rows] + k
        word = windows[np.minimum(at, last)]
        word &= _MASKS[np.minimum(lengths - k if rows is None else lengths[rows] - k, 8)]
        part ^= word
        part *= _MUL_A
        _fmix(part)
        if rows is not None:
            h[rows] = part
    if values.null_count:
        h[~np.asarray(values.is_valid(), dtype=bool)] = 0
    return h


def _int_words(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Integers (any width) as uint64, +1; nulls 0."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    v = np.asarray(pc.fill_null(values.cast(pa.int64()), -1).to_numpy(zero_copy_only=False),
                   dtype=np.int64).astype(np.uint64)
    v += _U64(1)
    return v


def _lane_a(words: list[np.ndarray], n: int) -> np.ndarray:
    a = np.full(n, _SEED_A, dtype=np.uint64)
    for w in words:
        a ^= w
        a *= _MUL_A
        a ^= a >> _S29
    return _fmix(a)


def _lane_b(words: list[np.ndarray], n: int) -> np.ndarray:
    b = np.full(n, _SEED_B, dtype=np.uint64)
    for w in words:
        b += w
        b *= _MUL_B
        b ^= b >> _S32
    return _fmix(b)


def _fold(words: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    return _lane_a(words, n), _lane_b(words, n)


def mix64(*columns: np.ndarray) -> np.ndarray:
    """A 64-bit digest (int64) of each row of integer columns: the first lane of the flow key
    fold, for grouping rows by several integer fields at once (equal rows, equal digests;
    different rows rarely equal: compare the fields where that matters).

    >>> mix64(np.array([1, 1, 2]), np.array([7, 7, 7])).tolist()[0] == mix64(
    ...     np.array([1]), np.array([7])).tolist()[0]
    True
    """
    words = [c.astype(np.uint64) for c in columns]
    digest: np.ndarray = _lane_a(words, len(words[0])).view(np.int64)
    return digest


def _hex(a: np.ndarray, b: np.ndarray) -> pa.StringArray:
    n = len(a)
    both = np.empty((n, 2), dtype=">u8")
    both[:, 0] = a
    both[:, 1] = b
    text = both.tobytes().hex().encode("ascii")  # big-endian lanes: digits in reading order
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(text)])


def flow_keys(table: pa.Table, native_id: str) -> tuple[pa.StringArray, np.ndarray]:
    """The ``flow_key`` of each row of a canonical flow table (plus the reader's
    ``native_id`` column), and a 64-bit digest of each key (int64) for finding repeats.

    >>> import datetime as dt
    >>> t = pa.table({"ts": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 2,
    ...                              pa.timestamp("us", tz="UTC")),
    ...               "src_ip": ["10.0.0.1"] * 2, "src_port": pa.array([5555, 5555], pa.int64()),
    ...               "dst_ip": ["10.0.0.2"] * 2, "dst_port": pa.array([22, 22], pa.int64()),
    ...               "proto": ["tcp"] * 2, "duration": [0.5, 0.5],
    ...               "src_bytes": pa.array([1, 1], pa.int64()),
    ...               "dst_bytes": pa.array([None, None], pa.int64()),
    ...               "src_pkts": pa.array([1, 1], pa.int64()),
    ...               "dst_pkts": pa.array([0, 0], pa.int64()),
    ...               "state": ["S0", "S0"], "tcp_flags": ["S", "S"],
    ...               "_native_id": ["CabcdefGHIJ123456", None]})
    >>> keys, _ = flow_keys(t, "_native_id")
    >>> keys.to_pylist()
    ['e71aa2118b0921b22a9929934a3f05ed', '97c2333424d7302b272014aaf498a8ce']
    """
    n = table.num_rows
    col = table.column
    ts = np.asarray(col("ts").cast(pa.int64()).to_numpy(zero_copy_only=False),
                    dtype=np.int64).astype(np.uint64)
    head = [ts, text_words(col("src_ip")), _int_words(col("src_port")),
            text_words(col("dst_ip")), _int_words(col("dst_port")), text_words(col("proto"))]
    nid = col(native_id).combine_chunks() if native_id in table.column_names else None
    has_id = (np.asarray(nid.is_valid(), dtype=bool) if nid is not None
              else np.zeros(n, dtype=bool))
    a = b = np.zeros(0, dtype=np.uint64)
    if has_id.any():
        tag = np.full(n, _U64(1))
        a, b = _fold([*head, tag, text_words(nid)], n)
    if not has_id.all():
        dur = np.asarray(pc.fill_null(col("duration"), -1.0).to_numpy(zero_copy_only=False),
                         dtype=np.float64)
        dur_us = np.where(dur < 0, -1, np.round(dur * 1e6)).astype(np.int64).astype(np.uint64)
        dur_us += _U64(1)
        counters = [_int_words(col(c)) for c in ("src_bytes", "dst_bytes", "src_pkts",
                                                 "dst_pkts")]
        tag = np.full(n, _U64(2))
        ca, cb = _fold([*head, tag, dur_us, *counters, text_words(col("state")),
                        text_words(col("tcp_flags"))], n)
        if has_id.any():
            a = np.where(has_id, a, ca)
            b = np.where(has_id, b, cb)
        else:
            a, b = ca, cb
    return _hex(a, b), a.view(np.int64)
