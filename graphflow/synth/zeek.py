"""Write flows as Zeek conn.log: ASCII TSV with header, or JSON lines; one file or rotated.

Formatting is vectorised with pyarrow.compute: every column becomes a string array, the
columns are joined element-wise with the separator, and the joined array's data buffer *is*
the file content (each row ends in a newline), so it is written in one call.

TSV follows Zeek's ASCII writer: ``#separator \\x09`` ... ``#types``, ``-`` for unset fields,
``(empty)`` for the empty ``tunnel_parents`` set, ``T``/``F`` booleans, times with six
decimals, and a ``#close`` trailer. JSON follows Zeek's JSON writer: one object per line,
flat keys such as ``id.orig_h``, unset fields left out, ``tunnel_parents`` as ``[]``.

Rotated output mirrors a Zeek archive: ``conn/conn.<YYYY-MM-DD>/conn.HH:00:00-HH:00:00.log.gz``,
one gzip file per hour, each with its own header. Gzip headers carry no time stamp, so the
bytes depend on the data only.

Examples
--------
>>> tsv_header("2026-03-02-00-00-00").splitlines()[0]
'#separator \\\\x09'
>>> len(FIELDS), FIELDS[2], TYPES[-1]
(21, 'id.orig_h', 'set[string]')
>>> rotated_name(dt.datetime(2026, 3, 2, 23, tzinfo=dt.UTC))
'conn.2026-03-02/conn.23:00:00-00:00:00.log.gz'
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.synth.flows import HISTORIES, PROTOS, SEC, SERVICES, STATES, FlowBatch

__all__ = ["FIELDS", "TYPES", "ConnLogWriter", "format_rows", "rotated_name", "tsv_header"]

FIELDS: tuple[str, ...] = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
)
TYPES: tuple[str, ...] = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count",
    "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
    "set[string]",
)
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
CHUNK = 200_000


def tsv_header(open_stamp: str) -> str:
    """Zeek's ASCII header for conn.log, opened at ``open_stamp`` (``%Y-%m-%d-%H-%M-%S``)."""
    return "".join([
        "#separator \\x09\n", "#set_separator\t,\n", "#empty_field\t(empty)\n",
        "#unset_field\t-\n", "#path\tconn\n", f"#open\t{open_stamp}\n",
        "#fields\t" + "\t".join(FIELDS) + "\n", "#types\t" + "\t".join(TYPES) + "\n",
    ])


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d-%H-%M-%S")


def rotated_name(hour: dt.datetime) -> str:
    """Relative path of the rotated file holding the hour that starts at ``hour``."""
    nxt = hour + dt.timedelta(hours=1)
    return f"conn.{hour:%Y-%m-%d}/conn.{hour:%H}:00:00-{nxt:%H}:00:00.log.gz"


def make_uids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` Zeek connection uids: ``C`` and 17 base-62 characters."""
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, 0] = ord("C")
    mat[:, 1:] = _B62[rng.integers(0, 62, (n, 17))]
    offsets = np.arange(0, 18 * (n + 1), 18, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat))


def _s(values: npt.NDArray[Any]) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _fixed6(us: npt.NDArray[np.int64]) -> pa.Array:
    """Microseconds as seconds with six decimals (``1.000250``)."""
    whole = _s(us // SEC)
    frac = pc.utf8_lpad(_s(us % SEC), width=6, padding="0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _opt(values: npt.NDArray[np.int64], text: pa.Array | None = None) -> tuple[pa.Array, pa.Array]:
    unset = pa.array(values < 0)
    return unset, (text if text is not None else _s(np.maximum(values, 0)))


def format_rows(b: FlowBatch, uids: pa.Array, addrs: pa.Array, own: npt.NDArray[np.bool_],
                fmt: str) -> pa.Buffer:
    """The text of ``b``'s rows (each ending in a newline) as one buffer."""
    vocab = {k: pa.array(v) for k, v in
             (("proto", PROTOS), ("service", SERVICES), ("state", STATES), ("hist", HISTORIES))}
    tf = pa.array(["F", "T"] if fmt == "tsv" else ["false", "true"])
    orig_h = pc.take(addrs, pa.array(b.src))
    resp_h = pc.take(addrs, pa.array(b.dst))
    local_o = pc.take(tf, pa.array(own[b.src].astype(np.int8)))
    local_r = pc.take(tf, pa.array(own[b.dst].astype(np.int8)))
    proto = pc.take(vocab["proto"], pa.array(b.proto))
    service = pc.take(vocab["service"], pa.array(b.service))
    state = pc.take(vocab["state"], pa.array(b.state))
    hist = pc.take(vocab["hist"], pa.array(b.history))
    ts = _fixed6(b.ts)
    dur_unset, dur = _opt(b.duration, _fixed6(np.maximum(b.duration, 0)))
    ob_unset, ob = _opt(b.orig_bytes)
    rb_unset, rb = _opt(b.resp_bytes)
    counts = [_s(x) for x in (b.orig_pkts, b.orig_ip_bytes, b.resp_pkts, b.resp_ip_bytes)]
    sport, dport = _s(b.sport), _s(b.dport)
    if fmt == "tsv":
        dash = pa.scalar("-")
        cols: list[Any] = [
            ts, uids, orig_h, sport, resp_h, dport, proto, service,
            pc.if_else(dur_unset, dash, dur), pc.if_else(ob_unset, dash, ob),
            pc.if_else(rb_unset, dash, rb), state, local_o, local_r, "0", hist, *counts,
            "(empty)\n",
        ]
        joined = pc.binary_join_element_wise(*cols, "\t")
    else:
        def opt_num(key: str, unset: pa.Array, text: pa.Array) -> pa.Array:
            piece = pc.binary_join_element_wise(f',"{key}":', text, "")
            return pc.if_else(unset, "", piece)

        def opt_str(key: str, text: pa.Array) -> pa.Array:
            piece = pc.binary_join_element_wise(f',"{key}":"', text, '"', "")
            return pc.if_else(pc.equal(text, "-"), "", piece)

        cols = [
            '{"ts":', ts, ',"uid":"', uids, '","id.orig_h":"', orig_h, '","id.orig_p":', sport,
            ',"id.resp_h":"', resp_h, '","id.resp_p":', dport, ',"proto":"', proto, '"',
            opt_str("service", service), opt_num("duration", dur_unset, dur),
            opt_num("orig_bytes", ob_unset, ob), opt_num("resp_bytes", rb_unset, rb),
            ',"conn_state":"', state, '","local_orig":', local_o, ',"local_resp":', local_r,
            ',"missed_bytes":0', opt_str("history", hist), ',"orig_pkts":', counts[0],
            ',"orig_ip_bytes":', counts[1], ',"resp_pkts":', counts[2], ',"resp_ip_bytes":',
            counts[3], ',"tunnel_parents":[]}\n',
        ]
        joined = pc.binary_join_element_wise(*cols, "")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1,
                            offset=4 * joined.offset)
    data = joined.buffers()[2]
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class ConnLogWriter:
    """Writes days of time-ordered flows into ``out_dir/conn.log`` or ``out_dir/conn/``."""

    def __init__(self, out_dir: Path, fmt: str, rotate: bool, start: dt.datetime,
                 end: dt.datetime, addrs: list[str], own: npt.NDArray[np.bool_]) -> None:
        self.out_dir = out_dir
        self.fmt = fmt
        self.rotate = rotate
        self.start = start
        self.end = end
        self.addrs = pa.array(addrs, type=pa.string())
        self.own = own
        self.rows = 0
        self._fh: IO[bytes] | None = None
        if rotate:
            (out_dir / "conn").mkdir(parents=True, exist_ok=True)
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            self._fh = open(out_dir / "conn.log", "wb")  # closed in close()
            if fmt == "tsv":
                self._fh.write(tsv_header(_stamp(start)).encode())

    def _write_rows(self, fh: _Sink, b: FlowBatch, uids: pa.Array) -> None:
        for lo in range(0, len(b), CHUNK):
            part = b.take(slice(lo, lo + CHUNK))
            fh.write(format_rows(part, uids.slice(lo, len(part)), self.addrs, self.own,
                                 self.fmt).to_pybytes())
            self.rows += len(part)

    def write_day(self, day_start: dt.datetime, b: FlowBatch, rng: np.random.Generator) -> None:
        """Write one day's flows (already sorted by ``ts``)."""
        uids = make_uids(rng, len(b))
        if not self.rotate:
            assert self._fh is not None
            self._write_rows(self._fh, b, uids)
            return
        base = int(day_start.timestamp()) * SEC
        bounds = np.searchsorted(b.ts, base + np.arange(25) * 3600 * SEC)
        for hour in range(24):
            lo, hi = int(bounds[hour]), int(bounds[hour + 1])
            t0 = day_start + dt.timedelta(hours=hour)
            path = self.out_dir / "conn" / rotated_name(t0)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                        compresslevel=3, mtime=0) as gz:
                if self.fmt == "tsv":
                    gz.write(tsv_header(_stamp(t0)).encode())
                self._write_rows(gz, b.take(slice(lo, hi)), uids.slice(lo, hi - lo))
                if self.fmt == "tsv":
                    gz.write(f"#close\t{_stamp(t0 + dt.timedelta(hours=1))}\n".encode())

    def close(self) -> None:
        if self._fh is not None:
            if self.fmt == "tsv":
                self._fh.write(f"#close\t{_stamp(self.end)}\n".encode())
            self._fh.close()
            self._fh = None
