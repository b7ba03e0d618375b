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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.schema import FLOW_FIELDS

__all__ = [
    "NATIVE_ID",
    "FlowBatch",
    "LineBlock",
    "ProgressFn",
    "Reject",
    "canonical_table",
    "clean_buffer",
    "iter_line_blocks",
    "normalize_ips",
    "open_binary",
]

#: Hidden column a reader may add: the sensor's own flow id (Zeek uid), used in flow_key.
NATIVE_ID = "_native_id"

ProgressFn = Callable[[int], None]

#: Seconds since the epoch accepted as a flow start (1970-01-01 .. 2100-01-01): relative
#: captures (Zeek on a pcap without clock) legitimately start near 0.
_TS_MAX_S = 4102444800.0


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


def iter_line_blocks(stream: IO[bytes], block_bytes: int) -> Iterator[LineBlock]:
    """Cut a byte stream into blocks of whole lines, as Arrow string arrays.

    Row ``i`` of a block is line ``first_line + i``; every line keeps its ``\\n`` (the last
    line of a file without one gets it added). Invalid UTF-8 is replaced, never fatal.

    >>> import io
    >>> blocks = list(iter_line_blocks(io.BytesIO(b"a\\tb\\n#c\\nlast"), 4))
    >>> [(b.first_line, b.lines.to_pylist()) for b in blocks]
    [(1, ['a\\tb\\n']), (2, ['#c\\n']), (3, ['last\\n'])]
    """
    line_no = 1
    tail = b""
    eof = False
    while not eof:
        chunk = stream.read(block_bytes)
        if not chunk:
            eof = True
            if not tail:
                break
            data = tail if tail.endswith(b"\n") else tail + b"\n"
            tail = b""
        else:
            data = tail + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            data, tail = data[: cut + 1], data[cut + 1 :]
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10) + 1
        offsets = np.empty(len(ends) + 1, dtype=np.int32)
        offsets[0] = 0
        offsets[1:] = ends
        lines = pa.Array.from_buffers(
            pa.binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        try:
            strings = lines.cast(pa.string())
        except pa.ArrowInvalid:
            strings = pa.array(
                [x.decode("utf-8", "replace") for x in lines.to_pylist()], pa.string()
            )
        yield LineBlock(line_no, strings)
        line_no += len(ends)


def clean_buffer(lines: pa.StringArray) -> pa.Buffer:
    """The bytes of ``lines`` back to back (each still ends with its newline)."""
    if len(lines) == 0:
        return pa.py_buffer(b"")
    arr = pa.concat_arrays([lines]) if lines.offset else lines
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1)
    start, end = int(offsets[0]), int(offsets[-1])
    data = arr.buffers()[2]
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
    """
    values = values.cast(pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values)
    dictionary = enc.dictionary
    canonical = np.asarray(pc.fill_null(pc.match_substring_regex(dictionary, _CANONICAL_V4),
                                        False))
    if canonical.all():
        return values
    fixed = dictionary.to_numpy(zero_copy_only=False).astype(object)
    for i in np.flatnonzero(~canonical):
        text = fixed[i]
        try:
            # ipaddress refuses IPv4 octets with leading zeros (ambiguous: octal in some tools)
            fixed[i] = str(ipaddress.ip_address(text.strip()))
        except ValueError:
            fixed[i] = None
    return pc.take(pa.array(fixed, pa.string()), enc.indices)


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
        secs = ts_col.cast(pa.float64())
        finite = pc.and_(pc.is_finite(secs), pc.and_(
            pc.greater_equal(secs, 0.0), pc.less(secs, _TS_MAX_S)))
        ts_ok = pc.fill_null(finite, False)
        safe = pc.if_else(ts_ok, secs, 0.0)
        ts_us = pc.round(pc.multiply(safe, 1e6)).cast(pa.int64()).cast(
            pa.timestamp("us", tz="UTC"))
    flag(~np.asarray(pc.fill_null(ts_ok, False)), "missing or invalid ts")

    src_ip = normalize_ips(cols["src_ip"]) if cols.get("src_ip") is not None else pa.nulls(
        n, pa.string())
    dst_ip = normalize_ips(cols["dst_ip"]) if cols.get("dst_ip") is not None else pa.nulls(
        n, pa.string())
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
        "source_file": pa.array(np.full(n, path, dtype=object), pa.string()),
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
