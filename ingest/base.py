"""What every reader shares: raw line blocks, rejects, and the move into the canonical table.

A reader never loops over lines in Python on the good path. It reads the file in blocks of
raw lines (an Arrow string array whose row number is the line number), validates them with
Arrow compute kernels, hands the clean lines to Arrow's CSV/JSON parsers, and turns the typed
columns into the canonical flow table with :func:`canonical_table`. Only rejected lines (the
error path) are touched one by one, to write them to the rejects file with their reason.
"""

from __future__ import annotations

import gzip
import ipaddress
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import IO, Any, Protocol, TypeVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graphflow.schema import FLOW_FIELDS

__all__ = [
    "NATIVE_ID",
    "Converted",
    "StitcherLike",
    "FlowBatch",
    "LineBlock",
    "PROTO_TABLE",
    "ProgressFn",
    "Reject",
    "block_clock",
    "canonical_table",
    "checked_path",
    "clean_buffer",
    "empty_batch",
    "end_times_us",
    "first_nonnegative",
    "flag_columns",
    "flag_letters",
    "flag_pair_state",
    "float_column",
    "int_column",
    "ips_canonical",
    "merge_notes",
    "parse_delimited",
    "proto_names",
    "time_column",
    "iter_byte_blocks",
    "iter_reused_blocks",
    "iter_line_blocks",
    "line_block",
    "line_starts",
    "lines_equal",
    "lines_prefixed",
    "normalize_ips",
    "orphan_lines",
    "stitched_batches",
    "open_binary",
    "read_head",
    "native_ints",
    "native_kernels",
    "native_strings",
    "string_offsets",
    "trimmed_text",
    "INNER_CR",
    "inner_carriage_returns",
    "integers_fit",
    "TS_MAX_S",
    "has_byte",
]

native_kernels: ModuleType | None
try:
    import ingest._native as native_kernels
except ImportError:  # not built (no C compiler): the numpy twins give the same results
    native_kernels = None

#: Hidden column a reader may add: the sensor's own flow id (Zeek uid), used in flow_key.
NATIVE_ID = "_native_id"

#: progress(bytes read since the last call); a pipelined reader calls it from its read-ahead
#: thread
ProgressFn = Callable[[int], None]

#: Seconds since the epoch accepted as a flow start (1970-01-01 .. 2100-01-01): relative
#: captures (Zeek on a pcap without clock) legitimately start near 0.
TS_MAX_S = 4102444800.0


@dataclass(frozen=True)
class Reject:
    """A line that could not become a flow: where, why, and the line itself."""

    path: str
    line: int
    reason: str
    text: str


@dataclass
class FlowBatch:
    """One block of canonical flows (without ``flow_key``) plus what was rejected in it.

    ``records`` counts the data records read in the block (good + rejected); comment and
    header lines are not records.
    """

    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    records: int = 0
    #: Reader-specific counters for the ingest summary, e.g. ``stitched`` (records merged into
    #: the flow of their other direction: read = loaded + rejected + duplicates + stitched),
    #: ``flipped`` (VAST records whose swapped endpoints were put back), ``skipped_non_ip``
    #: (ARP/LLC/management records, not counted in ``records``), ``packets`` (pcap, tshark).
    notes: dict[str, int] = field(default_factory=dict)


@dataclass
class LineBlock:
    """Raw lines ``first_line .. first_line + len(lines) - 1``, each with its trailing newline."""

    first_line: int
    lines: pa.StringArray


class _CountingReader:
    """A binary file wrapper that reports bytes consumed of the file on disk."""

    def __init__(self, raw: IO[bytes], progress: ProgressFn | None) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def readinto(self, b: Any) -> int:
        got = self._raw.readinto(b)  # type: ignore[attr-defined]  # raw is a buffered file
        if self._progress is not None and got:
            self._progress(int(got))
        return int(got or 0)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_binary(path: str | os.PathLike[str], progress: ProgressFn | None = None) -> IO[bytes]:
    """Open a file for reading, transparently gunzipping it (by content, not by name).

    ``progress`` receives the number of bytes of the file on disk consumed so far, in steps.
    """
    raw = open(path, "rb")
    magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    counting = _CountingReader(raw, progress)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=cast(IO[bytes], counting), mode="rb"))
    return counting  # type: ignore[return-value]


def read_head(path: str, size: int = 65536) -> bytes:
    """The first ``size`` bytes of a file (gunzipped), for format sniffing; one clear error
    naming the file when it cannot be read."""
    from graphflow.errors import InputFormatError

    try:
        with open_binary(path) as f:
            return f.read(size)
    except (OSError, EOFError) as exc:
        raise InputFormatError(path, None, f"cannot read: {exc}") from None


def _blocks(stream: IO[bytes], block_bytes: int, reuse: bool
            ) -> Iterator[tuple[bytearray | np.ndarray, int]]:
    """``(buffer, end)``: the next block of whole lines is ``buffer[:end]``; read straight into
    the buffer after the previous block's unfinished line (no copy to join or to cut them).
    ``reuse``: one buffer (a bytearray) for every block (valid until the next is asked for);
    otherwise a fresh one each time (uint8 numpy, not zeroed first: the read fills what is
    used), trimmed to the block."""
    def fresh(size: int) -> bytearray | np.ndarray:
        return bytearray(size) if reuse else np.empty(size, np.uint8)

    buf = fresh(block_bytes + 65536)
    tail = 0  # bytes of an unfinished line at the start of the buffer
    while True:
        if len(buf) - tail < block_bytes:  # a line longer than the spare room
            bigger = fresh(tail + block_bytes)
            bigger[:tail] = buf[:tail]
            buf = bigger
        got = tail
        with memoryview(buf) as view:  # type: ignore[arg-type]  # numpy: a buffer too
            while got < tail + block_bytes:
                k = stream.readinto(view[got:tail + block_bytes])  # type: ignore[attr-defined]
                if not k:
                    break
                got += k
        if got == tail:  # end of file
            if tail:
                last = buf[:tail] if buf[tail - 1] == 10 else bytes(buf[:tail]) + b"\n"
                yield last, len(last)  # type: ignore[misc]  # bytes: read-only, bytes-like
            return
        cut = _last_newline(buf, got) + 1
        if cut == 0:
            tail = got
            continue
        if reuse:
            rest = buf[cut:got]  # a copy (bytearray)
            yield buf, cut
            buf[:len(rest)] = rest
        else:
            block, buf = buf, fresh(block_bytes + 65536)
            yield block[:cut], cut
            buf[:got - cut] = block[cut:got]
        tail = got - cut


def _last_newline(buf: bytearray | np.ndarray, end: int) -> int:
    """Where the last newline of ``buf[:end]`` is, else -1: looked for backwards a window at a
    time (lines are short; the windows grow, so a long line costs one pass)."""
    if isinstance(buf, bytearray):
        return buf.rfind(b"\n", 0, end)
    with memoryview(buf) as view:  # type: ignore[arg-type]
        hi, window = end, 4096
        while hi > 0:
            lo = max(0, hi - window)
            k = bytes(view[lo:hi]).rfind(b"\n")
            if k >= 0:
                return lo + k
            hi, window = lo, window * 4
    return -1


def iter_byte_blocks(stream: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Cut a byte stream into blocks of whole lines: each block ends with a newline (the last
    line of a file without one gets it added). Lines are not counted here: the consumer knows
    a cheaper way (a parser's row count, the line ends it finds anyway).

    >>> import io
    >>> [bytes(b) for b in iter_byte_blocks(io.BytesIO(b"a\\tb\\n#c\\nlast"), 4)]
    [b'a\\tb\\n', b'#c\\n', b'last\\n']
    """
    for block, _ in _blocks(stream, block_bytes, reuse=False):
        yield block  # type: ignore[misc]  # uint8 numpy or bytes: bytes-like, this block's


def iter_reused_blocks(stream: IO[bytes], block_bytes: int
                       ) -> Iterator[tuple[bytearray, int]]:
    """As :func:`iter_byte_blocks`, into one buffer used again for every block: yields
    ``(buffer, end)``, the block being ``buffer[:end]``, valid until the next block is asked
    for. Fresh memory for every block costs more than the parse of it (page faults, zeroing),
    so a reader whose output holds no reference to its input (Arrow's CSV parser copies what
    it converts) reads this way.

    >>> import io
    >>> [bytes(b[:n]) for b, n in iter_reused_blocks(io.BytesIO(b"a\\tb\\n#c\\nlast"), 4)]
    [b'a\\tb\\n', b'#c\\n', b'last\\n']
    """
    return _blocks(stream, block_bytes, reuse=True)  # type: ignore[return-value]  # bytearray


def line_offsets(data: bytes | memoryview, step: int = 1 << 20) -> np.ndarray:
    """int32 offsets of the lines of ``data``: 0, then the position after each newline.

    Natively one memchr per line; without the extension a megabyte at a time, so that the
    comparison's mask stays in cache (about twice as fast as one pass over a 64 MB block).

    >>> line_offsets(b"ab\\nc\\n\\nd\\n", step=3).tolist()
    [0, 3, 5, 6, 8]
    """
    if native_kernels is not None and len(data) < (1 << 31) - 1:
        # one memchr per line: the lines are at most as many as the bytes
        out = np.empty(len(data) + 1, dtype=np.int32)
        return out[:native_kernels.line_ends(data, out)].copy()
    arr = np.frombuffer(data, dtype=np.uint8)
    parts = [np.zeros(1, dtype=np.int32)]
    for lo in range(0, len(arr), step):
        ends = np.flatnonzero(arr[lo:lo + step] == 10)
        ends += lo + 1
        parts.append(ends.astype(np.int32))
    return np.concatenate(parts)


def line_block(first_line: int, data: bytes | memoryview) -> LineBlock:
    """The lines of ``data`` (whole lines, as cut by :func:`iter_byte_blocks`) as an Arrow
    string array; invalid UTF-8 is replaced, never fatal."""
    offsets = line_offsets(data)
    if len(data) and np.frombuffer(data, np.uint8).max() < 0x80:  # ASCII: valid UTF-8
        return LineBlock(first_line, pa.Array.from_buffers(
            pa.string(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]))
    lines = pa.Array.from_buffers(
        pa.binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    try:
        strings = lines.cast(pa.string())
    except pa.ArrowInvalid:
        strings = pa.array(
            [x.decode("utf-8", "replace") for x in lines.to_pylist()], pa.string()
        )
    return LineBlock(first_line, strings)


def iter_line_blocks(stream: IO[bytes], block_bytes: int) -> Iterator[LineBlock]:
    """Cut a byte stream into blocks of whole lines, as Arrow string arrays.

    Row ``i`` of a block is line ``first_line + i``; every line keeps its ``\\n`` (the last
    line of a file without one gets it added). Invalid UTF-8 is replaced, never fatal.

    >>> import io
    >>> blocks = list(iter_line_blocks(io.BytesIO(b"a\\tb\\n#c\\nlast"), 4))
    >>> [(b.first_line, b.lines.to_pylist()) for b in blocks]
    [(1, ['a\\tb\\n']), (2, ['#c\\n']), (3, ['last\\n'])]
    """
    first_line = 1
    for data in iter_byte_blocks(stream, block_bytes):
        block = line_block(first_line, data)
        first_line += len(block.lines)
        yield block


def string_offsets(values: pa.StringArray) -> np.ndarray:
    """The int32 offsets of a string array's values into its data buffer (a view, honouring
    a slice's offset): value ``i`` is ``data[offsets[i]:offsets[i + 1]]``."""
    return np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1,
                         offset=values.offset * 4)


def native_strings(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Buffer]:
    """A string column as the native kernels (``ingest._native``) read it: contiguous int32
    offsets and the data buffer; null as the empty string, a dictionary decoded."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    values = values.cast(pa.string())
    if values.null_count:
        values = pc.fill_null(values, "")
    return np.ascontiguousarray(string_offsets(values)), values.buffers()[2] or pa.py_buffer(b"")


def native_ints(*arrays: np.ndarray) -> list[np.ndarray]:
    """Arrays as the native kernels read them: contiguous int64."""
    return [np.ascontiguousarray(a, np.int64) for a in arrays]


def clean_buffer(lines: pa.StringArray) -> pa.Buffer:
    """The bytes of ``lines`` back to back (each still ends with its newline).

    >>> clean_buffer(pa.array(["a,1\\n", "b,2\\n", "c,3\\n"]).slice(1, 1)).to_pybytes()
    b'b,2\\n'
    """
    if len(lines) == 0:
        return pa.py_buffer(b"")
    # a slice of a block (a segment after a header line) is read through its own offsets:
    # its bytes are one run of the block's data, nothing to copy
    offsets = string_offsets(lines)
    start, end = int(offsets[0]), int(offsets[-1])
    data = lines.buffers()[2]
    return data.slice(start, end - start)


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: Dotted quads already in canonical form (no leading zeros): no need to ask ``ipaddress``.
_CANONICAL_V4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"


def normalize_ips(values: pa.Array) -> pa.Array:
    """Validate and normalise IP address text; invalid addresses become null.

    Works per distinct value (dictionary), not per row: a 10M-flow file has few distinct
    hosts, and canonical IPv4 text is recognised by one vectorised pattern match.

    >>> normalize_ips(pa.array(["10.0.0.1", "2001:DB8::0:1", "300.1.1.1", None])).to_pylist()
    ['10.0.0.1', '2001:db8::1', None, None]
    >>> normalize_ips(pa.array(["010.0.0.1", " 10.0.0.2"])).to_pylist()
    [None, '10.0.0.2']
    >>> normalize_ips(pa.array(["2001:db8::1", "2001:db8::1", "::1"])).to_pylist()
    ['2001:db8::1', '2001:db8::1', '::1']
    >>> normalize_ips(pa.array(["fe80::x", "2001:db8::1"])).to_pylist()  # answers are cached
    [None, '2001:db8::1']
    """
    values = values.cast(pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    quad = _dotted_quads(values)
    if quad is not None:
        # row by row natively (no hashing): the rows that are not canonical dotted quads
        # (IPv6, odd text) are the only ones looked at by value
        if quad.all():
            return values
        other = ~quad
        if values.null_count:
            other &= np.asarray(values.is_valid())
        if not other.any():
            return values
        mask = pa.array(other)
        return pc.replace_with_mask(values, mask, _normalized(values.filter(mask)))
    return _normalized(values)


def _dotted_quads(values: pa.StringArray) -> np.ndarray | None:
    """Which values are canonical dotted quads, natively row by row; None when the extension
    is not built (or there are no values)."""
    if native_kernels is None or not len(values):
        return None
    quad = np.empty(len(values), np.uint8)
    native_kernels.dotted_quads(len(values), string_offsets(values), values.buffers()[2] or b"",
                                quad)
    return quad.view(bool)


def _normalized(values: pa.StringArray) -> pa.Array:
    """:func:`normalize_ips` by distinct value (the numpy twin of its native row check)."""
    enc = pc.dictionary_encode(values)
    dictionary = enc.dictionary
    canonical = np.asarray(pc.fill_null(pc.match_substring_regex(dictionary, _CANONICAL_V4),
                                        False))
    if canonical.all():
        return values
    fixed = dictionary.to_numpy(zero_copy_only=False).astype(object)
    changed = False
    for i in np.flatnonzero(~canonical):
        text = fixed[i]
        fixed[i] = _canonical_ip(text)
        changed = changed or fixed[i] != text
    if not changed:  # (IPv6 as Zeek and most sensors write it) the column as it is
        return values
    return pc.take(pa.array(fixed, pa.string()), enc.indices)


def ips_canonical(values: pa.Array) -> bool:
    """Whether every value is an address already written as :func:`normalize_ips` writes it
    (no null, nothing to rewrite): the packet readers' check that the raw texts they grouped
    packets by are the addresses themselves.

    >>> ips_canonical(pa.array(["10.0.0.1", "2001:db8::1"])), ips_canonical(pa.array(["::FFFF:1"]))
    (True, False)
    """
    if values.null_count:
        return False
    quad = _dotted_quads(values)
    if quad is not None and quad.all():
        return True
    fixed = normalize_ips(values)
    return bool(fixed.null_count == 0 and fixed.equals(values))


#: text -> canonical address text (None: not an address), for the texts the IPv4 pattern
#: does not settle (IPv6 mostly): the same hosts come back block after block
_CANONICAL_IPS: dict[str, str | None] = {}


def _canonical_ip(text: str) -> str | None:
    try:
        return _CANONICAL_IPS[text]
    except KeyError:
        pass
    try:
        # ipaddress refuses IPv4 octets with leading zeros (ambiguous: octal in some tools)
        value: str | None = str(ipaddress.ip_address(text.strip()))
    except ValueError:
        value = None
    if len(_CANONICAL_IPS) >= 100_000:
        _CANONICAL_IPS.clear()
    _CANONICAL_IPS[text] = value
    return value


def _num(col: pa.Array | None, n: int, typ: pa.DataType) -> pa.Array:
    if col is None:
        return pa.nulls(n, typ)
    return col.cast(typ)


def canonical_table(
    cols: dict[str, pa.Array | None],
    *,
    n: int,
    lines: np.ndarray,
    path: str,
    raw_lines: pa.StringArray | None,
    native_id: pa.Array | None = None,
    problems: list[tuple[np.ndarray, str]] | None = None,
    canonical_ips: bool = False,
) -> FlowBatch:
    """Turn typed per-field columns into canonical flows, rejecting rows that fail validation.

    ``cols`` maps canonical field names to arrays of length ``n`` (missing fields: None).
    ``ts`` is float seconds since the epoch or an Arrow timestamp; ports and counters are
    integers; strings are strings. ``lines`` gives each row's line number, ``raw_lines`` the
    row's text (for the rejects file). ``problems`` are masks of rows a reader already knows
    are bad, each with its reason. Validation is vectorised; only rejected rows are visited.
    """
    bad = np.zeros(n, dtype=bool)
    reasons = np.empty(n, dtype=object)
    checks: list[tuple[np.ndarray, str]] = list(problems or [])

    def flag(mask: np.ndarray, reason: str) -> None:
        checks.append((mask, reason))

    # time
    ts_col = cols.get("ts")
    if ts_col is None:
        ts_col = pa.nulls(n, pa.float64())
    if pa.types.is_timestamp(ts_col.type):
        ts_us = ts_col.cast(pa.timestamp("us", tz="UTC"))
        ts_ok = pc.is_valid(ts_us)
    else:
        secs = ts_col.cast(pa.float64(), safe=False)  # (a huge integer: rejected below)
        finite = pc.and_(pc.is_finite(secs), pc.and_(
            pc.greater_equal(secs, 0.0), pc.less(secs, TS_MAX_S)))
        ts_ok = pc.fill_null(finite, False)
        safe = pc.if_else(ts_ok, secs, 0.0)
        ts_us = pc.round(pc.multiply(safe, 1e6)).cast(pa.int64()).cast(
            pa.timestamp("us", tz="UTC"))
    flag(~np.asarray(pc.fill_null(ts_ok, False)), "missing or invalid ts")

    def address(name: str) -> pa.Array:  # (canonical_ips: the reader normalised them)
        col = cols.get(name)
        if col is None:
            return pa.nulls(n, pa.string())
        return col if canonical_ips else normalize_ips(col)

    src_ip, dst_ip = address("src_ip"), address("dst_ip")
    flag(~np.asarray(pc.is_valid(src_ip)), "missing or invalid source address")
    flag(~np.asarray(pc.is_valid(dst_ip)), "missing or invalid destination address")

    proto_raw = cols.get("proto")
    proto = pc.utf8_lower(proto_raw.cast(pa.string())) if proto_raw is not None else pa.nulls(
        n, pa.string())
    flag(~np.asarray(pc.is_valid(proto)), "missing protocol")
    has_ports = pc.fill_null(pc.is_in(proto, pa.array(["tcp", "udp", "sctp"])), False)

    ports = {}
    for name in ("src_port", "dst_port"):
        raw = _num(cols.get(name), n, pa.int64())
        in_range = pc.fill_null(pc.and_(pc.greater_equal(raw, 0), pc.less_equal(raw, 65535)),
                                True)
        flag(~np.asarray(in_range), f"{name} out of range 0-65535")
        keep = pc.and_(has_ports, in_range)
        ports[name] = pc.if_else(keep, raw, pa.scalar(None, pa.int64())).cast(pa.uint16())

    counters = {}
    for name in ("src_bytes", "dst_bytes", "src_pkts", "dst_pkts"):
        raw = _num(cols.get(name), n, pa.int64())
        flag(~np.asarray(pc.fill_null(pc.greater_equal(raw, 0), True)), f"negative {name}")
        counters[name] = raw
    duration = _num(cols.get("duration"), n, pa.float64())
    dur_ok = pc.fill_null(pc.and_(pc.is_finite(duration), pc.greater_equal(duration, 0.0)), True)
    flag(~np.asarray(dur_ok), "negative or invalid duration")

    for mask, reason in checks:
        newly = mask & ~bad
        reasons[newly] = reason
        bad |= mask

    def s(name: str) -> pa.Array:
        col = cols.get(name)
        return pa.nulls(n, pa.string()) if col is None else col.cast(pa.string())

    arrays: dict[str, pa.Array] = {
        "ts": ts_us,
        "duration": duration,
        "src_ip": src_ip,
        "src_port": ports["src_port"],
        "dst_ip": dst_ip,
        "dst_port": ports["dst_port"],
        "proto": proto,
        "service": s("service"),
        "state": s("state"),
        "tcp_flags": s("tcp_flags"),
        **counters,
        "label": s("label"),
        "source_file": pa.repeat(pa.scalar(path, pa.string()), n),
        "source_line": pa.array(lines.astype(np.int64)),
    }
    names = [f.name for f in FLOW_FIELDS if f.name != "flow_key"]
    table = pa.table({k: arrays[k] for k in names})
    table = table.append_column(
        NATIVE_ID, native_id.cast(pa.string()) if native_id is not None else pa.nulls(
            n, pa.string()))
    rejects: list[Reject] = []
    if bad.any():
        idx = np.flatnonzero(bad)
        texts = raw_lines.take(pa.array(idx)).to_pylist() if raw_lines is not None else [
            ""] * len(idx)
        for i, text in zip(idx, texts, strict=True):
            rejects.append(Reject(path, int(lines[i]), str(reasons[i]), (text or "").rstrip(
                "\r\n")))
        table = table.filter(pa.array(~bad))
    # The canonical schema's non-null fields are guaranteed by the checks above.
    target = pa.schema([f.arrow() for f in FLOW_FIELDS if f.name != "flow_key"]).append(
        pa.field(NATIVE_ID, pa.string()))
    table = table.cast(target)
    return FlowBatch(table=table, rejects=rejects, records=n)


# ---- shared helpers for the delimited-text readers (additive; see ingest/argus.py & co) -----

#: IP protocol numbers -> the lower-case names the canonical ``proto`` uses (Zeek's names:
#: ICMPv6 is "icmp", as in Zeek's conn.log).
PROTO_BY_NUMBER: dict[int, str] = {
    1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
    51: "ah", 58: "icmp", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp",
}
#: Other spellings of the same protocols (Argus, nfdump, tshark, VAST).
PROTO_ALIASES: dict[str, str] = {
    "ipv6-icmp": "icmp", "icmp6": "icmp", "icmpv6": "icmp", "ipv6icmp": "icmp",
    # Argus names UDP flows after the application it recognised
    "rtp": "udp", "rtcp": "udp", "udt": "udp",
}
#: Records that are not IP flows (Argus management records, ARP, LLC, ...): skipped, counted.
NON_IP_PROTOS = frozenset({"arp", "rarp", "llc", "man", "lldp", "stp", "cdp", "ipx", "esmc",
                           "lacp", "802.1x", "eapol", "loop"})

# TCP flag bits, and the order the letters are written in (Argus' ``-Z b`` order).
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
_FLAG_ORDER = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "A"), (URG, "U"),
               (ECE, "E"), (CWR, "C"))


def empty_batch(path: str, records: int = 0, rejects: list[Reject] | None = None) -> FlowBatch:
    """A batch with no flows (only rejects, or nothing)."""
    b = canonical_table({}, n=0, lines=np.zeros(0, np.int64), path=path, raw_lines=None)
    b.rejects = list(rejects or [])
    b.records = records
    return b


def merge_notes(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for k, v in more.items():
        into[k] = into.get(k, 0) + int(v)
    return into


def map_distinct(values: pa.Array, fn: Callable[[Any], Any], typ: pa.DataType) -> pa.Array:
    """Apply ``fn`` to each distinct value (a Python loop over the dictionary, not the rows)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if native_kernels is not None and pa.types.is_string(values.type) and len(values):
        # numbered natively by first appearance; the values are read without their validity
        # (a null's bytes are numbered like any text, and masked at the end)
        raw = pa.Array.from_buffers(pa.string(), len(values), [None, *values.buffers()[1:]],
                                    offset=values.offset)
        codes = np.empty(len(raw), np.int32)
        first = np.empty(len(raw), np.int64)
        k = native_kernels.distinct(len(raw), string_offsets(raw), raw.buffers()[2] or b"",
                                    codes, first)
        mapped = pa.array([fn(v) for v in raw.take(first[:k]).to_pylist()], typ)
        out = pc.take(mapped, codes)
        if not values.null_count:
            return out
        valid = np.asarray(values.is_valid())
        if out.null_count:
            valid &= np.asarray(out.is_valid())
        return pa.Array.from_buffers(out.type, len(out), [
            pa.py_buffer(np.packbits(valid, bitorder="little")), *out.buffers()[1:]],
            offset=out.offset)
    enc = pc.dictionary_encode(values)
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], typ)
    return pc.take(mapped, enc.indices)


def proto_names(values: pa.Array) -> pa.Array:
    """Protocol names or numbers -> canonical lower-case names (numbers without a name stay
    numbers).

    >>> proto_names(pa.array(["TCP", "17", "ipv6-icmp", "ICMP6", None, "132", "253"])).to_pylist()
    ['tcp', 'udp', 'icmp', 'icmp', None, 'sctp', '253']
    """
    def one(v: Any) -> str | None:
        if v is None:
            return None
        s = str(v).strip().lower()
        if not s:
            return None
        if s.isdigit():
            return PROTO_BY_NUMBER.get(int(s), str(int(s)))
        return PROTO_ALIASES.get(s, s)

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_integer(values.type):  # protocol numbers (tshark's ip.proto): a lookup
        nums = np.asarray(pc.fill_null(values, -1), dtype=np.int64)
        if ((nums < 256) & ((nums >= 0) | np.asarray(values.is_null()))).all():
            return PROTO_TABLE.take(np.where(nums >= 0, nums, 256))
    return map_distinct(values.cast(pa.string()), one, pa.string())


#: protocol number -> name, as proto_names gives it; row 256: null (no protocol)
PROTO_TABLE = pa.array([PROTO_BY_NUMBER.get(i, str(i)) for i in range(256)] + [None],
                        pa.string())


def trimmed_text(values: pa.Array) -> pa.Array:
    """Text with surrounding whitespace removed (the column as it is when no value starts or
    ends with a space, a control or a non-ASCII byte: a look at two bytes per row).

    >>> trimmed_text(pa.array([" a", "b", None, "c\\u00a0"])).to_pylist()
    ['a', 'b', None, 'c']
    >>> trimmed_text(pa.array(["a", None, "", "b c"]).slice(1)).to_pylist()
    [None, '', 'b c']
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    data = values.buffers()[2]
    if data is None:
        return values
    ends = string_offsets(values)
    if native_kernels is not None:
        if native_kernels.untrimmed(len(values), ends, data) == 0:
            return values
        return pc.utf8_trim_whitespace(values)
    first, last = ends[:-1], ends[1:]
    filled = last > first
    raw = np.frombuffer(data, dtype=np.uint8)
    edges = np.concatenate([raw[first[filled]], raw[last[filled] - 1]])
    if not ((edges <= 32) | (edges >= 0x80)).any():
        return values
    return pc.utf8_trim_whitespace(values)


#: the numbers Arrow's cast of a whole column reads (so that a value is read, or refused, alike
#: whether its block casts whole or value by value): decimal, or 0x and up to 16 hex digits;
#: a leading + is taken off first (Arrow's integer cast refuses it, its float cast does not)
_INT_RE = r"^([-+]?\d+|0[xX][0-9a-fA-F]{1,16})$"
_FLOAT_RE = r"^[-+]?((\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|(?i:nan|inf|infinity))$"


def _checked_cast(values: pa.Array, pattern: str, typ: pa.DataType
                  ) -> tuple[pa.Array, np.ndarray | None]:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return values.cast(typ), None  # already typed by the CSV parser
    s = trimmed_text(values)
    s = pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)
    try:
        return s.cast(typ), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = np.asarray(pc.fill_null(pc.match_substring_regex(s, pattern), True))
        if pa.types.is_integer(typ):
            s = pc.replace_substring_regex(s, r"^\+", "")
        ok = integers_fit(s, ok, typ)
        out = pc.if_else(pa.array(ok), s, pa.scalar(None, pa.string())).cast(typ)
        return out, ~ok


def integers_fit(text: pa.Array, ok: np.ndarray, typ: pa.DataType) -> np.ndarray:
    """``ok`` (rows whose text has the form of a number), less those too big for an integer
    ``typ``: digits that would overflow the cast (looked at one by one, they are rare).

    >>> integers_fit(pa.array(["12", "99999999999999999999", "-5"]), np.ones(3, bool),
    ...              pa.int64()).tolist()
    [True, False, True]
    """
    if not pa.types.is_integer(typ):
        return ok
    long = ok & np.asarray(pc.fill_null(pc.greater(pc.utf8_length(text), 18), False))
    if not long.any():
        return ok
    info = np.iinfo(typ.to_pandas_dtype())
    ok = ok.copy()
    for i in np.flatnonzero(long):
        ok[i] = info.min <= int(text[int(i)].as_py()) <= info.max
    return ok


def int_column(values: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """Text -> int64; empty is null. Returns the column and a mask of unparsable rows (or None).

    >>> col, bad = int_column(pa.array(["1", " 2 ", "", "x", None]))
    >>> col.to_pylist(), bad.tolist()
    ([1, 2, None, None, None], [False, False, False, True, False])
    """
    return _checked_cast(values, _INT_RE, pa.int64())


def float_column(values: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """Text -> float64; empty is null. Returns the column and a mask of unparsable rows."""
    return _checked_cast(values, _FLOAT_RE, pa.float64())


def _replace_byte(values: pa.Array, old: str, new: str) -> pa.Array:
    """``pc.replace_substring`` for one ASCII character by another, on the data buffer at
    once (an ASCII byte never occurs inside a multi-byte UTF-8 sequence; lengths stay).

    >>> _replace_byte(pa.array(["2011/08/10", None, "a/b/"]).slice(1), "/", "-").to_pylist()
    [None, 'a-b-']
    """
    validity, offsets, data = values.buffers()
    if data is None:
        return values
    raw = np.frombuffer(data, dtype=np.uint8).copy()
    raw[raw == ord(old)] = ord(new)
    return pa.Array.from_buffers(pa.string(), len(values), [validity, offsets, pa.py_buffer(raw)],
                                 null_count=values.null_count, offset=values.offset)


#: what every date-time Arrow's cast takes starts with (rows without it are not cast at all)
_DATE_START_RE = r"^\d{4}-\d{2}-\d{2}"


def time_column(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Start times as float seconds since the epoch, UTC; and a mask of unparsable rows.

    Accepts epoch seconds (``1520628556.520001``) and date-times written ``2011/08/10
    11:34:53.221630``, ``2011-08-10 11:34:53``, ``2011-08-10T11:34:53.5Z`` (read as UTC:
    a text time without zone is taken as UTC).

    >>> t, bad = time_column(pa.array(["1.5", "1970/01/01 00:00:02.25", "1970-01-01T00:00:03Z",
    ...                                "12:00:01", ""]))
    >>> t.to_pylist()[:3], bad.tolist()
    ([1.5, 2.25, 3.0], [False, False, False, True, True])
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        return values.cast(pa.float64(), safe=False), np.zeros(len(values), dtype=bool)
    if pa.types.is_timestamp(values.type):  # parsed by the CSV reader already
        us = values.cast(pa.timestamp("us")).cast(pa.int64())
        return pc.divide(us.cast(pa.float64(), safe=False), 1e6), np.zeros(len(values),
                                                                            dtype=bool)
    s = trimmed_text(values)
    n = len(s)
    ok = np.zeros(n, dtype=bool)
    sample = next((v for v in s.slice(0, 64).to_pylist() if v), "")
    if not any(ch in sample for ch in "-/:"):
        try:  # fast path: all epoch seconds
            return s.cast(pa.float64()), ok
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    text = _replace_byte(s, "/", "-") if "/" in sample else s
    if "T" in sample:
        text = _replace_byte(text, "T", " ")
    if "Z" in sample:
        text = pc.utf8_rtrim(text, characters="Z")
    try:  # fast path: all date-times written like the first ones
        stamps = text.cast(pa.timestamp("us"))
        return _seconds(stamps), ok
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # mixed or broken: every spelling, row by row (vectorised), bad rows flagged
    text = pc.utf8_rtrim(_replace_byte(_replace_byte(s, "/", "-"), "T", " "), characters="Z")
    numeric = np.asarray(pc.fill_null(pc.match_substring_regex(s, _FLOAT_RE), False))
    # a date-time is what Arrow's cast takes (as on the fast path above, so that a value is
    # read or refused alike whatever block it is in), and names a moment that exists
    dated = ~numeric & np.asarray(pc.fill_null(pc.match_substring_regex(text, _DATE_START_RE),
                                               False))
    dt_text = pc.if_else(pa.array(dated), text, pa.scalar(None, pa.string()))
    stamps = _timestamps_or_null(dt_text)
    is_dt = np.asarray(stamps.is_valid())
    dt_secs = _seconds(stamps)
    num_text = pc.if_else(pa.array(numeric), s, pa.scalar(None, pa.string()))
    secs = pc.coalesce(num_text.cast(pa.float64()), dt_secs)
    # (an empty value is no time, not a bad one: the caller tells it missing, as on the fast
    # paths)
    return secs, ~(numeric | is_dt) & np.asarray(s.is_valid())


def _seconds(stamps: pa.Array) -> pa.Array:
    """Timestamps -> float seconds since the epoch. The cast to float is unchecked: a date in
    year 20300 (a mangled line) is more microseconds than a double holds exactly, which a
    checked cast refuses for the whole column; the caller rejects such a time by its range.

    >>> _seconds(pa.array([1_554_415_184_500_000, 10_421_964_028_263_638],
    ...                   pa.timestamp("us"))).to_pylist()[0]
    1554415184.5
    """
    return pc.divide(stamps.cast(pa.int64()).cast(pa.float64(), safe=False), 1e6)


def _timestamps_or_null(text: pa.Array) -> pa.Array:
    """Date-time text -> timestamps, null where the text names no real moment (month 00,
    February 30, hour 24): Arrow refuses the whole column for one such row, so the refused
    part is halved until the rows that fail are found (a handful of casts per bad row).

    >>> _timestamps_or_null(pa.array(["2019-01-04 16:52:02.5", "2019-00-04 16:52:02",
    ...                               None, "2019-02-30 00:00:00"])).is_valid().to_pylist()
    [True, False, False, False]
    """
    try:
        return text.cast(pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(text) <= 1:
            return pa.nulls(len(text), pa.timestamp("us"))
    mid = len(text) // 2
    return pa.concat_arrays([_timestamps_or_null(text.slice(0, mid)),
                             _timestamps_or_null(text.slice(mid))])


def flag_letters(bits: np.ndarray) -> pa.Array:
    """TCP flag bitmasks -> letters in ``FSRPAUEC`` order; negative (unknown) -> null.

    >>> flag_letters(np.array([0x12, 0x02, 0, -1])).to_pylist()
    ['SA', 'S', '', None]
    """
    bits = np.asarray(bits, dtype=np.int64)
    enc = pc.dictionary_encode(pa.array(bits))  # distinct values by hashing, not sorting
    names = ["".join(ch for bit, ch in _FLAG_ORDER if u & bit) if u >= 0 else None
             for u in enc.dictionary.to_pylist()]
    return pc.take(pa.array(names, pa.string()), enc.indices)


def parse_flag_letters(values: pa.Array) -> np.ndarray:
    """Flag strings (``...AP.S.``, ``SA``, ``0x012``, ``18``) -> bitmasks; null/unknown -> -1.

    >>> parse_flag_letters(pa.array(["...AP.S.", "FSPA", "0x0012", "2", "", None])).tolist()
    [26, 27, 18, 2, 0, -1]
    >>> parse_flag_letters(pa.array([0x12, 0x112, None, -3])).tolist()  # numbers: the low byte
    [18, 18, -1, -1]
    """
    letters = {ch: bit for bit, ch in _FLAG_ORDER}

    def one(v: Any) -> int:
        if v is None:
            return -1
        s = str(v).strip()
        if s.lower().startswith("0x"):
            try:
                return int(s, 16) & 0xFF
            except ValueError:
                return -1
        if s.isdigit():
            return int(s) & 0xFF
        out = 0
        for ch in s.upper():
            out |= letters.get(ch, 0)
        return out

    if pa.types.is_integer(values.type):  # numbers already (tshark's 0x12, read natively)
        out = first_nonnegative([(values, 0)], len(values))  # -1: none (or negative)
        np.bitwise_and(out, 0xFF, out=out, where=out > 0xFF)
        return out
    mapped = map_distinct(values.cast(pa.string()), one, pa.int64())
    return np.asarray(pc.fill_null(mapped, -1))


def flag_columns(proto: pa.Array, src_flags: np.ndarray, dst_flags: np.ndarray,
                 dst_pkts: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Per flow: ``state`` (see :func:`flag_pair_state`) and ``tcp_flags`` written
    ``<originator>_<responder>`` (``S_RA``; TCP with both sides known, else null), from the
    flags each side sent (0-255, -1 unknown). Both depend on (TCP or not, the two flag sets,
    responder sent packets) only: worked out once per distinct combination (a few hundred at
    most), then spread to the rows by one take each.

    >>> st, fl = flag_columns(pa.array(["tcp", "tcp", "udp", "tcp"]), np.array([2, 0x12, 2, 2]),
    ...                       np.array([0x14, 0, 0, -1]), np.array([1, 0, 0, 0]))
    >>> st.to_pylist(), fl.to_pylist()
    (['REJ', 'S0', 'INT', None], ['S_RA', 'SA_', None, None])
    """
    if isinstance(proto, pa.ChunkedArray):
        proto = proto.combine_chunks()
    is_tcp = np.asarray(pc.fill_null(pc.equal(proto.cast(pa.string()), "tcp"), False))
    s_flags = np.asarray(src_flags, dtype=np.int64)
    d_flags = np.asarray(dst_flags, dtype=np.int64)
    key = (((s_flags + 1) * 257 + (d_flags + 1)) * 2 + (np.asarray(dst_pkts) > 0)) * 2 \
        + is_tcp
    enc = pc.dictionary_encode(pa.array(key, pa.int64()))
    u = np.asarray(enc.dictionary, dtype=np.int64)
    tcp = (u & 1) > 0
    u_s, u_d = (u >> 2) // 257 - 1, (u >> 2) % 257 - 1
    state = flag_pair_state(pa.array(np.where(tcp, "tcp", "other")), u_s, u_d, (u >> 1) & 1)
    known = tcp & (u_s >= 0) & (u_d >= 0)
    letters = pc.binary_join_element_wise(flag_letters(np.where(known, u_s, -1)),
                                          flag_letters(np.where(known, u_d, -1)), "_")
    return state.take(enc.indices), letters.take(enc.indices)


def flag_pair_state(proto: pa.Array, src_flags: np.ndarray, dst_flags: np.ndarray,
                    dst_pkts: np.ndarray) -> pa.Array:
    """A Zeek-like ``conn_state`` from the TCP flags each side sent (unions, -1 = unknown).

    TCP: SYN and no SYN-ACK: ``REJ`` if the responder reset, else ``S0`` / ``RSTOS0`` / ``SH``
    (originator's own RST / FIN); SYN answered: ``SF`` (both FIN), ``RSTO`` / ``RSTR``
    (who reset), ``S2`` / ``S3`` (one FIN), ``S1``; responder SYN-ACK only: ``RSTRH`` /
    ``SHR``; no SYN at all: ``OTH``; unknown flags: null. Other protocols: ``CON`` when the
    responder sent packets, else ``INT``. ``dst_pkts`` < 0 means unknown.

    >>> p = pa.array(["tcp"] * 6 + ["udp", "udp"])
    >>> s = np.array([2, 2, 0x13, 0x1b, 0x10, -1, -1, -1])
    >>> d = np.array([0, 0x14, 0x13, 0x1e, 0x10, -1, -1, -1])
    >>> flag_pair_state(p, s, d, np.array([0, 1, 5, 4, 3, 0, 1, 0])).to_pylist()
    ['S0', 'REJ', 'SF', 'RSTR', 'OTH', None, 'CON', 'INT']
    """
    s_row = np.clip(np.asarray(src_flags, dtype=np.int64), -1, 255)
    d_row = np.clip(np.asarray(dst_flags, dtype=np.int64), -1, 255)
    is_tcp_row = np.asarray(pc.fill_null(pc.equal(proto.cast(pa.string()), "tcp"), False))
    # the state depends on (src flags, dst flags, responder sent packets, TCP) only: decided
    # once per distinct combination (a few hundred at most), then spread to the rows
    key = (((s_row + 1) * 257 + (d_row + 1)) * 2
           + (np.asarray(dst_pkts, dtype=np.int64) > 0)) * 2 + is_tcp_row
    enc = pc.dictionary_encode(pa.array(key, pa.int64()))
    u = np.asarray(enc.dictionary, dtype=np.int64)
    is_tcp = (u & 1) > 0
    dp = (u >> 1) & 1
    s = (u >> 2) // 257 - 1
    d = (u >> 2) % 257 - 1
    known = (s >= 0) & (d >= 0)
    s = np.where(s < 0, 0, s)
    d = np.where(d < 0, 0, d)
    s_syn = (s & SYN) > 0
    d_syn = (d & SYN) > 0
    d_silent = (d == 0) & (dp <= 0)
    names = ["OTH", "REJ", "RSTOS0", "SH", "S0", "RSTO", "RSTR", "SF", "S2", "S3", "S1",
             "RSTRH", "SHR", "CON", "INT"]
    tcp_code = np.select(
        [
            s_syn & ~d_syn & ((d & RST) > 0),
            s_syn & ~d_syn & d_silent & ((s & RST) > 0),
            s_syn & ~d_syn & d_silent & ((s & FIN) > 0),
            s_syn & ~d_syn & d_silent,
            s_syn & ~d_syn,
            s_syn & d_syn & ((s & RST) > 0),
            s_syn & d_syn & ((d & RST) > 0),
            s_syn & d_syn & ((s & FIN) > 0) & ((d & FIN) > 0),
            s_syn & d_syn & ((s & FIN) > 0),
            s_syn & d_syn & ((d & FIN) > 0),
            s_syn & d_syn,
            ~s_syn & d_syn & ((d & RST) > 0),
            ~s_syn & d_syn & ((d & FIN) > 0),
        ],
        [1, 2, 3, 4, 0, 5, 6, 7, 8, 9, 10, 11, 12],
        default=0,
    )
    code = np.where(is_tcp, tcp_code, np.where(dp > 0, 13, 14))
    per_value = pa.array(names, pa.string()).take(
        pa.array(code.astype(np.int32), mask=is_tcp & ~known))
    return per_value.take(enc.indices)


@dataclass
class Delimited:
    """The well-formed lines of a block split into string columns, and the rejected ones."""

    table: pa.Table
    line_nos: np.ndarray
    lines: pa.StringArray
    rejects: list[Reject]


def _read_delimited(buf: pa.Buffer, names: list[str], idx: dict[str, int], delimiter: str,
                    quoted: bool, types: dict[str, pa.DataType] | None) -> pa.Table:
    """Arrow's CSV reader over ``buf`` (placeholder column names: a header may repeat a name);
    columns of ``idx`` only, typed by ``types`` (others, and all without ``types``, text)."""
    tmp = [f"c{i}" for i in range(len(names))]
    col_types = {tmp[i]: (types or {}).get(c, pa.string()) for c, i in idx.items()}
    return pacsv.read_csv(
        pa.BufferReader(buf),
        read_options=pacsv.ReadOptions(column_names=tmp, use_threads=True,
                                       block_size=16 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                         quote_char='"' if quoted else False,
                                         escape_char=False, newlines_in_values=False,
                                         ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=col_types, include_columns=[tmp[i] for i in idx.values()],
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True),
    )


_NATIVE_KINDS = {pa.string(): 0, pa.int64(): 1, pa.float64(): 2, pa.timestamp("us"): 3}
#: parse_delimited's native_ints forms -> the native parser's kinds
_NATIVE_INT_FORMS = {"int": 1, "hex": 4}


def _native_delimited(lines: pa.StringArray, names: list[str], idx: dict[str, int],
                      delimiter: str, quoted: bool, types: dict[str, pa.DataType] | None,
                      native_ints: dict[str, str] | None = None) -> pa.Table | None:
    """The columns of ``idx`` from plain lines, by the native parser
    (``ingest._native.parse_lines``); None when it is not built, or leaves the lines to
    Arrow's CSV reader (anything but the plainest forms, which both read the same)."""
    if native_kernels is None or len(delimiter) != 1 or not idx:
        return None
    kinds = [-1] * len(names)
    types = dict(types or {})
    for c, i in idx.items():
        kind = _NATIVE_KINDS.get(types.get(c, pa.string()))
        if kind is None:
            return None
        if kind == 0 and c in (native_ints or {}):
            kind = _NATIVE_INT_FORMS[(native_ints or {})[c]]
            types[c] = pa.int64()
        kinds[i] = kind
    data = lines.buffers()[2]
    if data is None:
        return None
    n = len(lines)
    line_off = np.ascontiguousarray(string_offsets(lines))
    span = int(line_off[-1] - line_off[0])
    nbits = (n + 7) // 8
    outputs: list[tuple[np.ndarray, ...] | None] = [None] * len(names)
    for i in idx.values():
        kind = kinds[i]
        outputs[i] = (np.empty(nbits, np.uint8),
                      np.empty(n + 1, np.int32) if kind == 0 else
                      np.empty(n, np.float64 if kind == 2 else np.int64),
                      np.empty(span if kind == 0 else 0, np.uint8))
    got = native_kernels.parse_lines(n, line_off, data, ord(delimiter), quoted, kinds,
                                     outputs)
    if got is None:
        return None
    cols = {}
    for (c, i), (nulls, text_len) in zip(sorted(idx.items(), key=lambda x: x[1]), got,
                                          strict=True):
        valid, values, text = outputs[i] or ()
        typ = pa.string() if kinds[i] == 0 else types[c]
        bufs = [pa.py_buffer(valid) if nulls else None, pa.py_buffer(values)]
        if kinds[i] == 0:
            bufs.append(pa.py_buffer(text[:text_len]))
        cols[c] = pa.Array.from_buffers(typ, n, bufs, null_count=nulls)
    return pa.table({c: cols[c] for c in idx})


def _columns(tab: pa.Table, idx: dict[str, int]) -> pa.Table:
    cols = {c: tab.column(f"c{i}").combine_chunks() for c, i in idx.items()}
    return pa.table(cols) if cols else pa.table({})


#: The reason given for a line that :func:`inner_carriage_returns` flags.
INNER_CR = "carriage return inside the line"


def inner_carriage_returns(lines: pa.StringArray) -> np.ndarray:
    """Lines with a carriage return that is not the one of a CRLF ending: Arrow's CSV reader
    ends a row there, so their fields cannot be counted by delimiters.

    >>> inner_carriage_returns(pa.array(["a,b\\r\\n", "a\\rb\\n", "ab\\n"])).tolist()
    [False, True, False]
    """
    if not has_byte(lines, ord("\r")):
        return np.zeros(len(lines), dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring_regex(lines, "\r[^\n]"), False))


def parse_delimited(path: str, lines: pa.StringArray, line_nos: np.ndarray,
                    names: list[str], delimiter: str, *, quoted: bool = False,
                    include: list[str] | None = None,
                    types: dict[str, pa.DataType] | None = None,
                    native_ints: dict[str, str] | None = None) -> Delimited:
    """Split lines with a known column list into columns, vectorised.

    Lines with the wrong number of fields (counted outside double quotes when ``quoted``) and
    empty lines are rejects; every other line is parsed by Arrow's CSV reader in one call.
    The common block (every line well-formed, every value of ``types`` columns parsable) is
    parsed typed straight away; only when that fails are the lines checked one by one
    (vectorised) and the bad ones set aside. ``native_ints`` names text columns that the
    native parser reads as int64 when every value of the block is written as ``"int"``
    (decimal) or ``"hex"`` (``0x12``); otherwise they stay text: the caller takes either.
    """
    wanted = [c for c in (include or names) if c in names]
    idx = {c: names.index(c) for c in wanted}
    if len(names) > 1 and len(lines):
        # the native parser leaves any block with a double quote (when quoted) to Arrow
        plain = _native_delimited(lines, names, idx, delimiter, quoted, types, native_ints)
        if plain is not None:
            return Delimited(plain, line_nos, lines, [])
    # every line's fields as Arrow's reader splits them: a block goes to it whole only when
    # every line is right, so that no line is read or rejected by the block it falls in
    has_quotes = quoted and has_byte(lines, ord('"'))
    counts = field_counts(lines, delimiter, has_quotes)
    open_quote = counts < 0
    # a carriage return inside a line is a reject whatever Arrow would make of it (inside
    # quotes it may keep it in the value, elsewhere end the row there)
    inner_cr = inner_carriage_returns(lines)
    if len(names) > 1 and len(lines) and (counts == len(names)).all() and not inner_cr.any():
        try:
            tab = _read_delimited(clean_buffer(lines), names, idx, delimiter, quoted, types)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            tab = None
        if tab is not None and tab.num_rows == len(lines):
            return Delimited(_columns(tab, idx), line_nos, lines, [])
    blank = np.asarray(pc.less_equal(pc.binary_length(lines), 2))  # "\n" or "\r\n"
    if blank.any():
        blank &= np.asarray(pc.equal(pc.binary_length(pc.utf8_trim_whitespace(lines)), 0))
    good = (counts == len(names)) & ~blank & ~inner_cr & ~open_quote
    rejects: list[Reject] = []
    if not good.all():
        rejects += _rejects_at(path, lines, line_nos, ~good, lambda i: (
            "empty line" if blank[i] else INNER_CR if inner_cr[i] else
            "a double quote that does not close" if open_quote[i] else
            f"expected {len(names)} fields separated by {delimiter!r}, got {int(counts[i])}"))
        lines = lines.filter(pa.array(good))
        line_nos = line_nos[good]
    tab = _typed_or_text(lines, names, idx, delimiter, quoted, types)
    if tab is None and len(lines):
        # not even as text: lines Arrow's reader cannot split -- found by halving (and, should
        # a line only fail next to another, the whole rest), set aside as rejects
        bad = _unsplittable(lines, names, idx, delimiter, quoted)
        tab = _typed_or_text(lines.filter(pa.array(~bad)), names, idx, delimiter, quoted,
                             types)
        if tab is None:
            bad[:] = True
        rejects += _rejects_at(path, lines, line_nos, bad,
                               lambda i: "cannot be split into fields")
        rejects.sort(key=lambda r: r.line)
        lines, line_nos = lines.filter(pa.array(~bad)), line_nos[~bad]
    if tab is None:
        table = pa.table({c: pa.array([], pa.string()) for c in wanted})
        return Delimited(table, line_nos, lines, rejects)
    return Delimited(_columns(tab, idx), line_nos, lines, rejects)


def _rejects_at(path: str, lines: pa.StringArray, line_nos: np.ndarray, mask: np.ndarray,
                reason: Callable[[int], str]) -> list[Reject]:
    """Rejects for the lines ``mask`` marks, with ``reason(i)`` and the line's text."""
    texts = pc.utf8_rtrim(lines.filter(pa.array(mask)), characters="\r\n").to_pylist()
    return [Reject(path, int(line_nos[i]), reason(int(i)), text or "")
            for i, text in zip(np.flatnonzero(mask), texts, strict=True)]


def has_byte(lines: pa.StringArray, byte: int, step: int = 1 << 20) -> bool:
    """Whether ``byte`` occurs in the strings ``lines``: their bytes at once (natively
    ``memchr``; else a megabyte at a time: a compute kernel's search string by string is ten
    times slower).

    >>> has_byte(pa.array(["a,b\\n", 'c,"d"\\n']), ord('"'), step=3)
    True
    """
    if len(lines) == 0 or lines.buffers()[2] is None:
        return False
    if native_kernels is not None:
        return bool(native_kernels.has_byte(clean_buffer(lines), byte))
    raw = np.frombuffer(clean_buffer(lines), dtype=np.uint8)
    return any(bool((raw[lo:lo + step] == byte).any()) for lo in range(0, len(raw), step))


def field_counts(lines: pa.StringArray, delimiter: str, quoted: bool) -> np.ndarray:
    """Each line's fields as Arrow's CSV reader splits them (``quoted``: a double quote opens
    a value only at a field's start, ``""`` inside one is a quote, text after the closing
    quote belongs to the field); -1 where the line ends inside quotes (Arrow's reader would
    run the value into the next line). Natively one pass; else by delimiter count, and the
    lines with a quote one by one.

    >>> field_counts(pa.array(['a,"b\\n', 'a,"b,c",d\\n', 'a,b"c,d\\n', '"x""y\\n', '"a,",b\\n',
    ...                        ' ","x",y\\r\\n']), ",", True).tolist()
    [-1, 3, 3, -1, 2, 3]
    """
    n = len(lines)
    if native_kernels is not None and len(delimiter) == 1 and n:
        out = np.empty(n, np.int32)
        native_kernels.count_fields(n, string_offsets(lines), lines.buffers()[2] or b"",
                                    ord(delimiter), quoted, out)
        return out
    counts = np.asarray(pc.count_substring(lines, delimiter), dtype=np.int32) + 1
    if quoted and n:
        with_quote = np.flatnonzero(np.asarray(pc.fill_null(pc.match_substring(lines, '"'),
                                                            False)))
        texts = lines.take(pa.array(with_quote)).to_pylist()
        for i, text in zip(with_quote.tolist(), texts, strict=True):
            counts[i] = _arrow_fields(text or "", delimiter)
    return counts


def _arrow_fields(text: str, delimiter: str) -> int:
    """:func:`field_counts` of one quoted line (the reference of ``count_fields``)."""
    text = text.removesuffix("\n").removesuffix("\r")
    fields, at_start, in_quotes, i = 1, True, False, 0
    while i < len(text):
        c = text[i]
        i += 1
        if in_quotes:
            if c == '"':
                if i < len(text) and text[i] == '"':
                    i += 1
                else:
                    in_quotes = False
            continue
        if at_start and c == '"':
            in_quotes, at_start = True, False
            continue
        at_start = c == delimiter
        fields += at_start
    return -1 if in_quotes else fields


def _typed_or_text(lines: pa.StringArray, names: list[str], idx: dict[str, int],
                   delimiter: str, quoted: bool, types: dict[str, pa.DataType] | None
                   ) -> pa.Table | None:
    """Arrow's parse of well-shaped ``lines``: typed in one pass (the good path), else (any
    unparsable value) all as text; None when there are no lines or Arrow cannot split them."""
    if len(lines) == 0:
        return None
    buf = clean_buffer(lines)
    for typed in ([types, None] if types else [None]):
        try:
            tab = _read_delimited(buf, names, idx, delimiter, quoted, typed)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            continue
        if tab.num_rows == len(lines):
            return tab
    return None


def _unsplittable(lines: pa.StringArray, names: list[str], idx: dict[str, int],
                  delimiter: str, quoted: bool) -> np.ndarray:
    """The lines Arrow's reader cannot take as text even alone: halves that parse are
    cleared whole, so one bad line among n costs about 2 log2(n) parses."""
    bad = np.zeros(len(lines), dtype=bool)
    todo = [(0, len(lines))]
    while todo:
        lo, hi = todo.pop()
        if _typed_or_text(lines.slice(lo, hi - lo), names, idx, delimiter, quoted,
                          None) is not None:
            continue
        if hi - lo == 1:
            bad[lo] = True
        else:
            mid = (lo + hi) // 2
            todo += [(lo, mid), (mid, hi)]
    return bad


@dataclass
class Segment:
    """Consecutive data lines of a text file under one header line (``None``: no header yet)."""

    header: str | None
    header_line: int
    lines: pa.StringArray
    line_nos: np.ndarray


def iter_segments(path: str, block_bytes: int, progress: ProgressFn | None, *,
                  is_header: Callable[[pa.StringArray], np.ndarray],
                  is_footer: Callable[[pa.StringArray], np.ndarray] | None = None,
                  is_skipped: Callable[[pa.StringArray], np.ndarray] | None = None
                  ) -> Iterator[Segment]:
    """Cut a text file into runs of data lines, each under the header line in force.

    ``is_header`` marks header lines (vectorised, per block); a header that repeats the one
    in force (concatenated exports) is dropped, a different one starts a new layout.
    ``is_footer`` marks the start of a footer (nfdump's ``Summary``): it and every line up to
    the next header are not data. ``is_skipped`` marks other non-data lines (comments).
    Neither headers, footers nor skipped lines are records.
    """
    header: str | None = None
    header_line = 0
    in_footer = False
    with open_binary(path, progress) as stream:
        for block in iter_line_blocks(stream, block_bytes):
            lines = block.lines
            n = len(lines)
            line_nos = np.arange(block.first_line, block.first_line + n, dtype=np.int64)
            hdr = np.asarray(is_header(lines), dtype=bool)
            drop = hdr.copy()
            if is_skipped is not None:
                drop |= np.asarray(is_skipped(lines), dtype=bool)
            if is_footer is not None:
                foot = np.asarray(is_footer(lines), dtype=bool) & ~hdr
                idx = np.arange(n)
                last_foot = np.maximum.accumulate(np.where(foot, idx, -1))
                last_hdr = np.maximum.accumulate(np.where(hdr, idx, -1))
                footer_zone = last_foot > last_hdr
                if in_footer:
                    footer_zone |= last_hdr < 0
                drop |= footer_zone
                in_footer = bool(footer_zone[-1]) if n else in_footer
            cuts = np.flatnonzero(hdr).tolist()
            start = 0
            for c in [*cuts, n]:
                if c > start:
                    keep = ~drop[start:c]
                    seg = lines.slice(start, c - start)
                    nos = line_nos[start:c]
                    if not keep.all():
                        seg = seg.filter(pa.array(keep))
                        nos = nos[keep]
                    if len(seg):
                        yield Segment(header, header_line, seg, nos)
                if c < n:
                    text = str(lines[c].as_py()).rstrip("\r\n")
                    if text != header:
                        header, header_line = text, int(line_nos[c])
                start = c + 1


def pipelined_segments(path: str, block_bytes: int, progress: ProgressFn | None, *,
                       is_header: Callable[[pa.StringArray], np.ndarray],
                       is_footer: Callable[[pa.StringArray], np.ndarray] | None = None,
                       is_skipped: Callable[[pa.StringArray], np.ndarray] | None = None
                       ) -> Iterator[Segment]:
    """:func:`iter_segments` for a three-stage reader (read and cut | parse | stitch or
    aggregate, each stage a thread, handing over by :func:`prefetched`): the file is read
    ahead in a thread of its own, into fresh buffers (a reused one would be overwritten under
    the parser), and in quarter blocks, so that the stages overlap over most of the file and
    the blocks alive at once (being read, waiting, being parsed, being stitched) stay within
    about the caller's bound.
    """
    return prefetched(iter_segments(path, max(1, block_bytes // 4), progress,
                                    is_header=is_header, is_footer=is_footer,
                                    is_skipped=is_skipped))


_PORT_PROTOS = pa.array(["tcp", "udp", "sctp"])


def port_column(values: pa.Array | None, proto: pa.Array, n: int
                ) -> tuple[pa.Array, np.ndarray | None]:
    """Port text -> int64, checked only where the protocol has ports (ICMP "ports" of some
    tools hold type/code in odd notations: ``0x0087``, ``8.0``; those become null)."""
    if values is None:
        return pa.nulls(n, pa.int64()), None
    has = pc.fill_null(pc.is_in(proto, _PORT_PROTOS), False)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_integer(values.type):
        try:  # the common column: plain decimal numbers (or empty) on every row
            values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type),
                                values).cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            s = pc.if_else(has, trimmed_text(values), pa.scalar(None, pa.string()))
            return int_column(s)
    return pc.if_else(has, values.cast(pa.int64()), pa.scalar(None, pa.int64())), None


def first_nonnegative(columns: list[tuple[pa.Array | None, int]], n: int) -> np.ndarray:
    """Per row, ``max(value + addend, 0)`` of the first of ``columns`` ((int column or None,
    addend), in order of preference) whose value is there and not negative; else -1.

    >>> first_nonnegative([(pa.array([5, None, -1, None]), 0), (None, 0),
    ...                    (pa.array([7, 8, 9, None]), -8)], 4).tolist()
    [5, 0, 1, -1]
    """
    cols = [(c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c, add)
            for c, add in columns if c is not None]
    cols = [(c.cast(pa.int64()), add) for c, add in cols]
    if native_kernels is not None:
        out = np.empty(n, np.int64)
        native_kernels.first_nonnegative(n, [
            (np.frombuffer(c.buffers()[1], np.int64, count=n, offset=c.offset * 8),
             c.buffers()[0] if c.null_count else None, c.offset, add) for c, add in cols], out)
        return out
    out = np.full(n, -1, np.int64)
    done = np.zeros(n, dtype=bool)
    for c, add in cols:
        v = np.asarray(pc.fill_null(c, -1), dtype=np.int64)
        take = ~done & (v >= 0)
        out[take] = np.maximum(v[take] + add, 0)
        done |= take
    return out


def aux_for(table: pa.Table, line_nos: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """Align per-line arrays with the rows ``canonical_table`` kept (by source_line)."""
    if table.num_rows == len(line_nos):  # it kept every row, in order
        return [np.asarray(a) for a in arrays]
    kept = np.asarray(table.column("source_line").to_numpy())
    pos = np.searchsorted(line_nos, kept)
    return [np.asarray(a)[pos] for a in arrays]


#: rows at the end of a block whose median time is the block's clock (:func:`block_clock`)
CLOCK_ROWS = 64


def block_clock(times: np.ndarray) -> float:
    """Where a block ends in time, for the readers that carry what is still open into the
    next block (packets into flows, one-way records into pairs): the median of the last
    :data:`CLOCK_ROWS` times in file order (NaN aside), not the latest of all. One record
    stamped weeks ahead (a bad clock, a mangled line) would otherwise close everything open
    in its block, and what is one flow would depend on the block it falls in.

    >>> block_clock(np.array([1.0, 2.0, 3.0, 4e9, 5.0, 6.0]))
    4.0
    """
    tail = times[-CLOCK_ROWS:]
    if tail.dtype.kind == "f":
        tail = tail[~np.isnan(tail)]
    return float(np.median(tail)) if len(tail) else float("nan")


def block_problems(*items: tuple[np.ndarray | None, str]) -> list[tuple[np.ndarray, str]]:
    """The (mask, reason) pairs whose mask is set somewhere."""
    return [(m, r) for m, r in items if m is not None and m.any()]


def line_starts(lines: pa.StringArray, chars: bytes) -> np.ndarray:
    """Lines whose first byte is one of ``chars``: read from the array's buffers, no text
    function over every line.

    >>> line_starts(pa.array(["ab\\n", "#c\\n", "", "Ad\\n"]), b"A#").tolist()
    [False, True, False, True]
    """
    n = len(lines)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = string_offsets(lines)
    data = lines.buffers()[2]
    table = np.zeros(256, dtype=bool)  # a byte lookup: one gather, whatever len(chars)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    if native_kernels is not None:
        out = np.empty(n, np.uint8)
        native_kernels.first_bytes(n, offsets, data or pa.py_buffer(b""), table, out)
        mask = out.view(bool)
    else:
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        nonempty = offsets[1:] > offsets[:-1]
        first = raw[np.where(nonempty, offsets[:-1], 0)] if len(raw) else np.zeros(n, np.uint8)
        mask = table[first] & nonempty
    if lines.null_count:
        mask &= np.asarray(pc.is_valid(lines))
    return mask


def _refine(lines: pa.StringArray, mask: np.ndarray,
            test: Callable[[pa.StringArray], pa.Array]) -> np.ndarray:
    if mask.any():
        idx = np.flatnonzero(mask)
        ok = np.asarray(pc.fill_null(test(lines.take(pa.array(idx))), False))
        mask[idx[~ok]] = False
    return mask


def lines_equal(lines: pa.StringArray, text: str) -> np.ndarray:
    """Lines that read ``text`` (line end aside); only lines starting like it are compared.

    >>> lines_equal(pa.array(["Summary\\r\\n", "Sum\\n", "x\\n"]), "Summary").tolist()
    [True, False, False]
    """
    if not text:
        return np.asarray(pc.equal(pc.utf8_rtrim(lines, characters="\r\n"), ""))
    return _refine(lines, line_starts(lines, text.encode()[:1]),
                   lambda c: pc.equal(pc.utf8_rtrim(c, characters="\r\n"), text))


def lines_prefixed(lines: pa.StringArray, prefix: str) -> np.ndarray:
    """Lines that start with ``prefix`` (non-empty)."""
    return _refine(lines, line_starts(lines, prefix.encode()[:1]),
                   lambda c: pc.starts_with(c, prefix))


_HEADER_START = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1)) \
    + b'_"'


def header_mask(lines: pa.StringArray, *words: str) -> np.ndarray:
    """Lines that start with a letter and contain every one of ``words`` (header lines)."""
    mask = line_starts(lines, _HEADER_START)
    if words and mask.any():
        idx = np.flatnonzero(mask)
        cand = lines.take(pa.array(idx))
        ok = np.ones(len(idx), dtype=bool)
        for w in words:
            ok &= np.asarray(pc.match_substring(cand, w))
        mask = np.zeros(len(lines), dtype=bool)
        mask[idx[ok]] = True
    return mask


class StitcherLike(Protocol):
    """What :func:`stitched_batches` needs of :class:`ingest.stitch.Stitcher`."""

    stitched: int

    def push(self, table: pa.Table, *, final: bool = False) -> pa.Table: ...


#: One converted block for :func:`stitched_batches`: the canonical batch, each kept row's
#: TCP flag bits (-1 unknown) and end time (µs), and extra notes; or a batch to pass as is.
Converted = tuple[FlowBatch, np.ndarray, np.ndarray, dict[str, int]] | FlowBatch


def orphan_lines(path: str, seg: Segment, reason: str) -> FlowBatch:
    """The lines of a segment that no header covers: every one a reject with ``reason``."""
    rejects = [Reject(path, int(no), reason, text.rstrip("\r\n"))
               for no, text in zip(seg.line_nos.tolist(), seg.lines.to_pylist(), strict=True)]
    return empty_batch(path, records=len(rejects), rejects=rejects)



T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """``items`` worked out one step ahead in a background thread.

    For pipelined readers (read | parse | stitch or aggregate, one such hand-over between
    each two stages): the next block is worked on while the caller works on this one, on the
    machine's second core (the native kernels, Arrow and numpy let go of the GIL). At most
    ``depth`` finished items wait in between. An error in the producer is raised here, at the
    item it would have been; when the caller stops early, the producer is told to stop at its
    next item.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if stop.is_set():
                    return
                slots.put((item, None))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put((_DONE, exc))
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None:  # a generator: its files are closed here, not at exit
                close()
        slots.put((_DONE, None))

    worker = threading.Thread(target=produce, name="graphflow-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = slots.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def stitched_batches(path: str, blocks: Iterable[Converted],
                     stitcher: StitcherLike) -> Iterator[FlowBatch]:
    """The glue of the one-record-per-direction readers (nfdump, Argus, flow-tools).

    Each converted block goes through ``stitcher`` (its flag bits and end times as the
    auxiliary columns); ``records`` becomes flows + rejects (read = loaded + rejected +
    duplicates) and ``notes["stitched"]`` counts the records merged into their other
    direction. One block is held back so that the records still open at the end of the file
    (the stitcher's final flush) join the last batch.
    """
    from ingest.stitch import END, FLAGS

    pending: FlowBatch | None = None
    for item in prefetched(blocks):
        if isinstance(item, FlowBatch):
            yield item
            continue
        batch, bits, end_us, notes = item
        before = stitcher.stitched
        table = batch.table.append_column(FLAGS, pa.array(bits, pa.int64())).append_column(
            END, pa.array(end_us, pa.int64()))
        batch.table = stitcher.push(table)
        batch.records = batch.table.num_rows + len(batch.rejects)
        batch.notes["stitched"] = stitcher.stitched - before
        merge_notes(batch.notes, {k: v for k, v in notes.items() if v})
        if pending is not None:
            yield pending
        pending = batch
    before = stitcher.stitched
    last = pending if pending is not None else empty_batch(path)
    empty = empty_batch(path).table
    tail = stitcher.push(empty.append_column(FLAGS, pa.array([], pa.int64())).append_column(
        END, pa.array([], pa.int64())), final=True)
    if tail.num_rows:
        last.table = pa.concat_tables([last.table, tail])
    last.notes["stitched"] = last.notes.get("stitched", 0) + stitcher.stitched - before
    last.records = last.table.num_rows + len(last.rejects)
    yield last


def checked_path(path: str | os.PathLike[str], sniff: Callable[[bytes], object | None],
                 what: str) -> str:
    """``path`` as text, after checking that a non-empty file's first bytes are the format
    ``sniff`` recognises; otherwise one clear error: ``not <what>``."""
    from graphflow.errors import InputFormatError

    text = os.fspath(path)
    head = read_head(text)
    if head.strip() and sniff(head) is None:
        raise InputFormatError(text, None, f"not {what}")
    return text


def end_times_us(ts: pa.Array, duration: pa.Array) -> np.ndarray:
    """Each record's end (start + non-negative duration, nulls as 0) in µs, for stitching."""
    ts_f = np.asarray(pc.fill_null(ts.cast(pa.float64(), safe=False), 0.0), dtype=np.float64)
    dur_f = np.asarray(pc.fill_null(duration.cast(pa.float64(), safe=False), 0.0),
                       dtype=np.float64)
    # no finite end (the row is rejected by the table's checks): 0, and the stitcher takes the
    # later of start and end
    end_f = np.round((ts_f + np.maximum(dur_f, 0.0)) * 1e6)
    end_f = np.where(np.isfinite(end_f) & (np.abs(end_f) < 2.0 ** 62), end_f, 0.0)
    ends: np.ndarray = end_f.astype(np.int64)
    return ends
