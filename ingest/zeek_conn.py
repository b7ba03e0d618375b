"""Zeek conn.log reader: TSV with its ``#`` header, or JSON lines; plain or gzip.

TSV: the ``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#fields`` and
``#types`` directives are honoured wherever they appear (concatenated logs repeat them), any
column order works and extra columns are ignored. JSON: one object per line with Zeek's flat
keys (``id.orig_h``); ``ts`` as epoch seconds or ISO 8601.

Field mapping onto the canonical schema (see :mod:`graphflow.schema`):

=================  ==========================================================
canonical          Zeek
=================  ==========================================================
ts                 ts
duration           duration
src_ip/src_port    id.orig_h / id.orig_p   (ICMP: Zeek's type; dropped to null)
dst_ip/dst_port    id.resp_h / id.resp_p   (ICMP: Zeek's code; dropped to null)
proto              proto
service            service
state              conn_state
tcp_flags          history
src/dst_bytes      orig_ip_bytes / resp_ip_bytes, else orig_bytes / resp_bytes
src/dst_pkts       orig_pkts / resp_pkts
label              label (+ detailed-label), as in labelled captures such as IoT-23
=================  ==========================================================
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from graphflow.errors import InputFormatError
from ingest.base import (
    INNER_CR,
    FlowBatch,
    ProgressFn,
    Reject,
    canonical_table,
    clean_buffer,
    inner_carriage_returns,
    integers_fit,
    iter_line_blocks,
    iter_reused_blocks,
    line_block,
    open_binary,
    read_head,
)

__all__ = ["read_zeek_conn", "sniff_zeek_conn"]

REQUIRED = ("ts", "id.orig_h", "id.resp_h", "proto")

#: Zeek field -> (canonical field, Arrow type used when parsing)
_TYPES: dict[str, pa.DataType] = {
    "ts": pa.float64(),
    "uid": pa.string(),
    "id.orig_h": pa.string(),
    "id.orig_p": pa.int64(),
    "id.resp_h": pa.string(),
    "id.resp_p": pa.int64(),
    "proto": pa.string(),
    "service": pa.string(),
    "duration": pa.float64(),
    "orig_bytes": pa.int64(),
    "resp_bytes": pa.int64(),
    "conn_state": pa.string(),
    "history": pa.string(),
    "orig_pkts": pa.int64(),
    "orig_ip_bytes": pa.int64(),
    "resp_pkts": pa.int64(),
    "resp_ip_bytes": pa.int64(),
    "label": pa.string(),
    "detailed-label": pa.string(),
}

_NUMERIC_RE = {
    "int": r"^\s*\d+\s*$",
    "float": r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$",
}


@dataclass
class _Header:
    separator: str = "\t"
    set_separator: str = ","
    empty_field: str = "(empty)"
    unset_field: str = "-"
    fields: list[str] = field(default_factory=list)
    path: str | None = None


def _unescape(value: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def sniff_zeek_conn(head: bytes) -> str | None:
    """Return "tsv" or "json" if ``head`` (the first bytes of a file) looks like a conn.log.

    >>> sniff_zeek_conn(b"#path\\tconn\\n#fields\\tts\\tuid\\tid.orig_h\\tid.resp_h\\n")
    'tsv'
    >>> sniff_zeek_conn(b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"1.2.3.4"}\\n')
    'json'
    >>> sniff_zeek_conn(b"StartTime,Dur,Proto\\n") is None
    True
    """
    text = head.decode("utf-8", "replace")
    if "#fields" in text:
        m = re.search(r"^#path\s+(\S+)", text, re.M)
        if m and m.group(1) != "conn":
            return None
        fm = re.search(r"^#fields\s+(.*)$", text, re.M)
        if fm and "id.orig_h" in fm.group(1) and "id.resp_h" in fm.group(1):
            return "tsv"
        return None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("{") and '"id.orig_h"' in s and '"id.resp_h"' in s and (
            '"ts"' in s
        ):
            return "json"
        return None
    return None


def _columns_from_zeek(tab: pa.Table) -> tuple[dict[str, pa.Array | None], pa.Array | None]:
    def col(name: str) -> pa.Array | None:
        if name not in tab.column_names:
            return None
        c = tab.column(name)
        if c.num_chunks == 0 or len(c) != tab.num_rows:
            return pa.nulls(tab.num_rows, c.type)
        return c.combine_chunks()

    def first(*names: str) -> pa.Array | None:
        for nm in names:
            c = col(nm)
            if c is not None:
                return c
        return None

    src_b = col("orig_ip_bytes")
    dst_b = col("resp_ip_bytes")
    if src_b is not None and col("orig_bytes") is not None:
        src_b = pc.coalesce(src_b, col("orig_bytes"))
    if dst_b is not None and col("resp_bytes") is not None:
        dst_b = pc.coalesce(dst_b, col("resp_bytes"))
    label = col("label")
    detailed = col("detailed-label")
    if label is not None and detailed is not None:
        lab = pc.fill_null(label.cast(pa.string()), "")
        det = pc.fill_null(detailed.cast(pa.string()), "")
        joined = pc.binary_join_element_wise(lab, det, "/")
        merged = pc.if_else(pc.equal(lab, ""), det, pc.if_else(pc.equal(det, ""), lab, joined))
        label = pc.if_else(pc.equal(merged, ""), pa.nulls(tab.num_rows, pa.string()), merged)
    elif label is None:
        label = detailed
    cols: dict[str, pa.Array | None] = {
        "ts": col("ts"),
        "duration": col("duration"),
        "src_ip": col("id.orig_h"),
        "src_port": col("id.orig_p"),
        "dst_ip": col("id.resp_h"),
        "dst_port": col("id.resp_p"),
        "proto": col("proto"),
        "service": col("service"),
        "state": col("conn_state"),
        "tcp_flags": col("history"),
        "src_bytes": src_b if src_b is not None else col("orig_bytes"),
        "dst_bytes": dst_b if dst_b is not None else col("resp_bytes"),
        "src_pkts": col("orig_pkts"),
        "dst_pkts": col("resp_pkts"),
        "label": label,
    }
    return cols, first("uid")


def _parse_tsv(buf: pa.Buffer, hdr: _Header, typed: bool) -> pa.Table:
    wanted = [f for f in hdr.fields if f in _TYPES]
    types = {f: (_TYPES[f] if typed else pa.string()) for f in wanted}
    return pacsv.read_csv(
        pa.BufferReader(buf),
        read_options=pacsv.ReadOptions(column_names=hdr.fields, use_threads=True,
                                       block_size=16 << 20),
        parse_options=pacsv.ParseOptions(delimiter=hdr.separator, quote_char=False,
                                         escape_char=False, newlines_in_values=False,
                                         ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, include_columns=wanted, null_values=[
                hdr.unset_field, hdr.empty_field], strings_can_be_null=True,
            quoted_strings_can_be_null=False),
    )


def _validate_strings(tab: pa.Table) -> tuple[pa.Table, list[tuple[np.ndarray, str]]]:
    """Slow-but-vectorised path: find which rows hold unparsable numbers, per column."""
    problems: list[tuple[np.ndarray, str]] = []
    out = {}
    for name in tab.column_names:
        c = tab.column(name).combine_chunks()
        target = _TYPES[name]
        if target == pa.string():
            out[name] = c
            continue
        pattern = _NUMERIC_RE["int" if pa.types.is_integer(target) else "float"]
        text = pc.utf8_trim_whitespace(c)
        ok_np = integers_fit(text, np.asarray(pc.fill_null(pc.match_substring_regex(
            c, pattern), True)), target)
        if not ok_np.all():
            problems.append((~ok_np, f"field {name}: not a number"))
        out[name] = pc.if_else(pa.array(ok_np), text, pa.scalar(None, pa.string())).cast(target)
    return pa.table(out), problems


def _tsv_segment(path: str, lines: pa.StringArray, line_nos: np.ndarray,
                 hdr: _Header) -> FlowBatch:
    n_fields = len(hdr.fields)
    counts = np.asarray(pc.count_substring(lines, hdr.separator))
    lengths = np.asarray(pc.utf8_length(pc.utf8_rtrim(lines, characters="\r\n")))
    blank = lengths == 0
    inner_cr = inner_carriage_returns(lines)
    good = (counts == n_fields - 1) & ~blank & ~inner_cr
    rejects: list[Reject] = []
    if not good.all():
        for i in np.flatnonzero(~good):
            text = lines[int(i)].as_py().rstrip("\r\n")
            reason = "empty line" if blank[i] else INNER_CR if inner_cr[i] else (
                f"expected {n_fields} tab-separated fields, got {int(counts[i]) + 1}")
            rejects.append(Reject(path, int(line_nos[i]), reason, text))
        lines = lines.filter(pa.array(good))
        line_nos = line_nos[good]
    if len(lines) == 0:
        batch = canonical_table({}, n=0, lines=line_nos, path=path, raw_lines=lines)
        batch.rejects = rejects + batch.rejects
        batch.records = len(rejects)
        return batch
    buf = clean_buffer(lines)
    problems: list[tuple[np.ndarray, str]] = []
    try:
        tab = _parse_tsv(buf, hdr, typed=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        tab, problems = _validate_strings(_parse_tsv(buf, hdr, typed=False))
    cols, uid = _columns_from_zeek(tab)
    batch = canonical_table(cols, n=len(lines), lines=line_nos, path=path, raw_lines=lines,
                            native_id=uid, problems=problems)
    batch.rejects = rejects + batch.rejects
    batch.records += len(rejects)
    return batch


def _apply_directive(hdr: _Header, text: str) -> None:
    body = text.rstrip("\r\n")
    if body.startswith("#separator"):
        value = body[len("#separator"):].strip()
        hdr.separator = _unescape(value) or "\t"
        return
    parts = body.split(hdr.separator)
    key, values = parts[0], parts[1:]
    if key == "#set_separator" and values:
        hdr.set_separator = values[0]
    elif key == "#empty_field" and values:
        hdr.empty_field = values[0]
    elif key == "#unset_field" and values:
        hdr.unset_field = values[0]
    elif key == "#path" and values:
        hdr.path = values[0]
    elif key == "#fields":
        hdr.fields = values


def _orphans(path: str, lines: pa.StringArray, line_nos: np.ndarray) -> FlowBatch:
    """Data lines met before any ``#fields`` header: each one is a reject."""
    rejects = [Reject(path, int(no), "line before the #fields header (not a header line, "
                      "not data)", text.rstrip("\r\n"))
               for no, text in zip(line_nos.tolist(), lines.to_pylist(), strict=True)]
    empty = canonical_table({}, n=0, lines=np.zeros(0, np.int64), path=path, raw_lines=None)
    return FlowBatch(table=empty.table, rejects=rejects, records=len(rejects))


def _fast_run(path: str, data: memoryview, first_line: int, hdr: _Header) -> FlowBatch | None:
    """A run of data lines (no directive among them) parsed straight from its bytes.

    Arrow's CSV reader parses the bytes with the declared types, and with quoting, escapes,
    newlines in values and empty-line skipping all off, a parse that succeeds has exactly one
    row per line: row ``i`` is line ``first_line + i`` (no need to count the lines first).
    Returns None (and the caller takes the line-by-line path, which finds and explains the bad
    lines) as soon as anything is off: a parse error, or any row that fails validation.
    """
    if len(hdr.separator) != 1:
        return None
    try:
        tab = _parse_tsv(pa.py_buffer(data), hdr, typed=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    n = tab.num_rows
    cols, uid = _columns_from_zeek(tab)
    batch = canonical_table(cols, n=n, lines=np.arange(first_line, first_line + n,
                                                       dtype=np.int64),
                            path=path, raw_lines=None, native_id=uid)
    return None if batch.rejects else batch


def _data_run(path: str, buf: bytearray, start: int, end: int, first_line: int, hdr: _Header
              ) -> tuple[FlowBatch, int]:
    """Flows (and rejects) of the data lines ``buf[start:end]`` under the directives in force,
    and the number of lines."""
    if hdr.fields:
        missing = [f for f in REQUIRED if f not in hdr.fields]
        if missing:
            raise InputFormatError(path, first_line, f"#fields lacks {', '.join(missing)}")
        if buf.find(b"\r", start, end) < 0:
            with memoryview(buf) as view:
                fast = _fast_run(path, view[start:end], first_line, hdr)
            if fast is not None:
                return fast, fast.records
    block = line_block(first_line, bytes(buf[start:end]))
    line_nos = np.arange(first_line, first_line + len(block.lines), dtype=np.int64)
    if not hdr.fields:
        return _orphans(path, block.lines, line_nos), len(block.lines)
    return _tsv_segment(path, block.lines, line_nos, hdr), len(block.lines)


def _read_tsv(path: str, block_bytes: int, progress: ProgressFn | None) -> Iterator[FlowBatch]:
    """Blocks of whole lines, cut at directive lines (``#...``, rare: the header, a
    concatenated log's next header, ``#close``) into runs of data lines. The blocks share one
    buffer (the batches hold nothing of it: Arrow's parser copies what it converts)."""
    hdr = _Header()
    line = 1
    with open_binary(path, progress) as stream:
        for buf, size in iter_reused_blocks(stream, block_bytes):
            pos = 0
            while pos < size:
                if buf[pos] == 0x23:  # "#": a directive line
                    end = buf.index(b"\n", pos, size) + 1
                    _apply_directive(hdr, bytes(buf[pos:end]).decode("utf-8", "replace"))
                    if hdr.path not in (None, "conn"):
                        raise InputFormatError(path, line, f"not a conn log (#path {hdr.path})")
                    pos, line = end, line + 1
                    continue
                # data lines up to the next directive; one memchr settles a "#"-free rest
                nxt = -1 if buf.find(b"#", pos, size) < 0 else buf.find(b"\n#", pos, size)
                end = size if nxt < 0 else nxt + 1
                batch, n = _data_run(path, buf, pos, end, line, hdr)
                yield batch
                pos, line = end, line + n


_JSON_SCHEMA = pa.schema([(k, v) for k, v in _TYPES.items()])


def _parse_json(buf: pa.Buffer, ts_type: pa.DataType) -> pa.Table:
    schema = _JSON_SCHEMA.set(_JSON_SCHEMA.get_field_index("ts"), pa.field("ts", ts_type))
    return pajson.read_json(
        pa.BufferReader(buf),
        read_options=pajson.ReadOptions(use_threads=True, block_size=16 << 20),
        parse_options=pajson.ParseOptions(explicit_schema=schema,
                                          unexpected_field_behavior="ignore",
                                          newlines_in_values=False),
    )


def _json_rows(lines: pa.StringArray) -> tuple[pa.Table | None, str]:
    buf = clean_buffer(lines)
    errors = []
    for ts_type in (pa.float64(), pa.timestamp("us", tz="UTC"), pa.string()):
        try:
            tab = _parse_json(buf, ts_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            errors.append(str(exc).splitlines()[0])
            continue
        if tab.num_rows == len(lines):
            if ts_type == pa.string():
                ts = pc.cast(tab.column("ts"), pa.timestamp("us", tz="UTC"), safe=False)
                tab = tab.set_column(tab.schema.get_field_index("ts"), "ts", ts)
            return tab, ""
        errors.append(f"{tab.num_rows} objects in {len(lines)} lines")
    return None, errors[0] if errors else "invalid JSON"


def _json_block(path: str, lines: pa.StringArray, line_nos: np.ndarray) -> FlowBatch:
    stripped = pc.utf8_trim_whitespace(lines)
    blank = np.asarray(pc.equal(pc.utf8_length(stripped), 0))
    obj = np.asarray(pc.starts_with(stripped, "{"))
    good = obj & ~blank
    rejects = [Reject(path, int(line_nos[i]), "empty line" if blank[i] else "not a JSON object",
                      lines[int(i)].as_py().rstrip("\r\n")) for i in np.flatnonzero(~good)]
    lines, line_nos = lines.filter(pa.array(good)), line_nos[good]
    tables: list[tuple[pa.Table, np.ndarray, pa.StringArray]] = []

    def bisect(sub: pa.StringArray, nos: np.ndarray) -> None:
        if len(sub) == 0:
            return
        tab, err = _json_rows(sub)
        if tab is not None:
            tables.append((tab, nos, sub))
            return
        if len(sub) == 1:
            text = sub[0].as_py().rstrip("\r\n")
            try:
                json.loads(text)
                reason = f"JSON object with unexpected value types ({err})"
            except ValueError as exc:
                reason = f"invalid JSON: {exc}"
            rejects.append(Reject(path, int(nos[0]), reason, text))
            return
        half = len(sub) // 2
        bisect(sub.slice(0, half), nos[:half])
        bisect(sub.slice(half), nos[half:])

    bisect(lines, line_nos)
    out_tables = []
    out_rejects = list(rejects)
    records = len(rejects)
    for tab, nos, sub in tables:
        cols, uid = _columns_from_zeek(tab)
        b = canonical_table(cols, n=tab.num_rows, lines=nos, path=path, raw_lines=sub,
                            native_id=uid)
        out_tables.append(b.table)
        out_rejects.extend(b.rejects)
        records += b.records
    if out_tables:
        table = pa.concat_tables(out_tables)
    else:
        table = canonical_table({}, n=0, lines=np.zeros(0, np.int64), path=path,
                                raw_lines=None).table
    out_rejects.sort(key=lambda r: r.line)
    return FlowBatch(table=table, rejects=out_rejects, records=records)


def _read_json(path: str, block_bytes: int, progress: ProgressFn | None) -> Iterator[FlowBatch]:
    with open_binary(path, progress) as stream:
        for block in iter_line_blocks(stream, block_bytes):
            line_nos = np.arange(block.first_line, block.first_line + len(block.lines),
                                 dtype=np.int64)
            yield _json_block(path, block.lines, line_nos)


def read_zeek_conn(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
                   progress: ProgressFn | None = None) -> Iterator[FlowBatch]:
    """Read a Zeek conn.log (TSV or JSON, optionally gzipped) as canonical flow batches.

    Raises :class:`~graphflow.errors.InputFormatError` when the file is not a conn.log at all;
    malformed lines inside a conn.log are returned as rejects, never raised.
    """
    path = os.fspath(path)
    head = read_head(path)
    kind = sniff_zeek_conn(head)
    if kind is None:
        raise InputFormatError(path, None, "not a Zeek conn.log (no #fields header with "
                                           "id.orig_h/id.resp_h, and not Zeek JSON)")
    if kind == "tsv":
        yield from _read_tsv(path, block_bytes, progress)
    else:
        yield from _read_json(path, block_bytes, progress)
