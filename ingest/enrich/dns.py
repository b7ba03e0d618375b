"""Passive DNS from Zeek ``dns.log`` (ASCII TSV or JSON lines, optionally gzipped).

Each answered query maps the addresses in its ``answers`` to the queried name (and to the
CNAME targets among the answers); a ``PTR`` query for ``4.3.2.1.in-addr.arpa`` maps 1.2.3.4
to the names it returns. The result has one row per (ip, name) with the first and last time
the mapping was seen and how often: :data:`PDNS_SCHEMA`.

The columns are handled with Arrow kernels; only distinct values that need it (escaped text,
reverse-lookup names) are touched one by one. Zeek's escapes (``\\x2c`` for a comma inside a
set element, ``\\xNN`` for other bytes) are undone, so names with commas, quotes or non-ASCII
survive.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "dns.log"
>>> _ = p.write_text('{"ts":1772409600.5,"query":"www.Example.com.","qtype_name":"A",'
...                  '"answers":["cdn.example.net","192.0.2.7"]}\\n')
>>> t = read_zeek_dns(p)
>>> sorted(zip(t["ip"].to_pylist(), t["name"].to_pylist()))
[('192.0.2.7', 'cdn.example.net'), ('192.0.2.7', 'www.Example.com')]
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
from collections.abc import Iterator
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from graphflow.errors import InputFormatError
from ingest.base import normalize_ips, open_binary

__all__ = ["PDNS_SCHEMA", "read_zeek_dns", "reverse_name_to_ip", "unescape_zeek"]

PDNS_SCHEMA = pa.schema([
    pa.field("ip", pa.string(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("first_seen", pa.timestamp("us", tz="UTC")),
    pa.field("last_seen", pa.timestamp("us", tz="UTC")),
    pa.field("count", pa.int64()),
    pa.field("source", pa.string()),
])

_NEEDED = ("ts", "query", "qtype_name", "answers")
_ESC = re.compile(rb"\\x([0-9a-fA-F]{2})|\\\\")


def unescape_zeek(text: str) -> str:
    r"""Undo Zeek ASCII escapes (``\xNN`` bytes, ``\\``), decoding the bytes as UTF-8.

    >>> unescape_zeek(r"comma\x2cseparated.example"), unescape_zeek(r"b\xc3\xbccher.example")
    ('comma,separated.example', 'bücher.example')
    """
    raw = text.encode("utf-8", "surrogateescape")
    out = _ESC.sub(lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"\\", raw)
    return out.decode("utf-8", "replace")


def reverse_name_to_ip(name: str) -> str | None:
    """The address of a reverse-lookup name (``in-addr.arpa`` / ``ip6.arpa``), else None.

    >>> reverse_name_to_ip("7.2.0.192.in-addr.arpa"), reverse_name_to_ip("example.com")
    ('192.0.2.7', None)
    """
    n = name.lower().rstrip(".")
    try:
        if n.endswith(".in-addr.arpa"):
            parts = n[: -len(".in-addr.arpa")].split(".")
            if len(parts) == 4:
                return str(ipaddress.IPv4Address(".".join(reversed(parts))))
        elif n.endswith(".ip6.arpa"):
            nib = n[: -len(".ip6.arpa")].split(".")
            if len(nib) == 32:
                return str(ipaddress.IPv6Address(int("".join(reversed(nib)), 16)))
    except ValueError:
        return None
    return None


def _tsv_header(path: str, data: bytes) -> tuple[dict[str, str], int]:
    head: dict[str, str] = {}
    n_head = 0
    for line in data[:65536].split(b"\n"):
        if not line.startswith(b"#"):
            break
        n_head += 1
        key, _, value = line.decode("utf-8", "replace").partition(
            "\t" if not line.startswith(b"#separator") else " ")
        head[key[1:]] = value
    fields = head.get("fields", "").split("\t")
    if "answers" not in fields or "query" not in fields:
        raise InputFormatError(path, None, "not a Zeek dns.log (no #fields line naming query "
                               "and answers)")
    return head, n_head


def _tsv_table(data: bytes, head: dict[str, str], n_head: int) -> pa.Table:
    fields = head["fields"].split("\t")
    set_sep = head.get("set_separator", ",")

    def skip(_row: object) -> str:
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=fields, skip_rows=n_head),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False,
                                         escape_char=False, invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(
            include_columns=[c for c in _NEEDED if c in fields],
            column_types={c: pa.string() for c in fields}, strings_can_be_null=False))
    ts = table["ts"]
    keep = pc.invert(pc.starts_with(ts, "#"))
    table = table.filter(keep)
    unset = head.get("unset_field", "-")
    empty = head.get("empty_field", "(empty)")
    ans = table["answers"]
    ans = pc.if_else(pc.or_(pc.equal(ans, unset), pc.equal(ans, empty)), None, ans)
    lists = pc.split_pattern(ans, set_sep)
    qtype = table["qtype_name"] if "qtype_name" in table.column_names else pa.nulls(
        table.num_rows, pa.string())
    return pa.table({"ts": pc.cast(ts, pa.float64()), "query": table["query"],
                     "qtype_name": qtype, "answers": lists, "escaped": pa.array(
                         np.ones(table.num_rows, dtype=bool))})


def _json_table(path: str, data: bytes) -> pa.Table:
    schema = pa.schema([("ts", pa.float64()), ("query", pa.string()),
                        ("qtype_name", pa.string()), ("answers", pa.list_(pa.string()))])
    try:
        table = pajson.read_json(io.BytesIO(data), parse_options=pajson.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore"))
    except pa.ArrowInvalid as exc:
        raise InputFormatError(path, None, f"not a Zeek dns.log in JSON: {exc}") from None
    return pa.table({**{c: table[c] for c in schema.names},
                     "escaped": pa.array(np.zeros(table.num_rows, dtype=bool))})


def _clean_names(values: pa.Array, escaped: pa.Array) -> pa.Array:
    """Unescape (TSV only) and drop the trailing dot (case is kept as logged)."""
    needs = pc.and_(escaped, pc.match_substring(values, "\\"))
    if pc.any(needs).as_py():
        fixed = [unescape_zeek(v) if n else v for v, n in
                 zip(values.to_pylist(), needs.to_pylist(), strict=True)]
        values = pa.array(fixed, pa.string())
    result: pa.Array = pc.utf8_rtrim(values, ".")
    return result


def _blocks(path: str, block_bytes: int) -> Iterator[bytes]:
    """The file in blocks of whole lines."""
    try:
        with open_binary(path) as fh:
            stream: IO[bytes] = fh
            rest = b""
            while True:
                chunk = stream.read(block_bytes)
                if not chunk:
                    break
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    rest = data
                    continue
                rest = data[cut:]
                yield data[:cut]
            if rest:
                yield rest + b"\n"
    except (OSError, EOFError) as exc:
        raise InputFormatError(path, None, f"cannot read: {exc}") from None


def read_zeek_dns(path: str | os.PathLike[str], *,
                  block_bytes: int = 32 * 1024 * 1024) -> pa.Table:
    """Passive DNS mappings (:data:`PDNS_SCHEMA`) learnt from one Zeek dns.log.

    The file is read in blocks of ``block_bytes``; memory is bounded by a block plus the
    distinct (ip, name) pairs.
    """
    p = os.fspath(path)
    parts: list[pa.Table] = []
    head: dict[str, str] | None = None
    kind = ""
    for i, data in enumerate(_blocks(p, block_bytes)):
        if i == 0:
            first = data.lstrip()[:1]
            if first == b"{":
                kind = "json"
            elif first == b"#":
                kind = "tsv"
                head, n_head = _tsv_header(p, data)
            else:
                raise InputFormatError(p, None, "not a Zeek dns.log (expected a '#separator' "
                                       "header or JSON lines)")
        if kind == "json":
            t = _json_table(p, data)
        else:
            assert head is not None
            t = _tsv_table(data, head, n_head if i == 0 else 0)
        parts.append(_mappings(t))
    if not parts:
        return PDNS_SCHEMA.empty_table()
    allp = pa.concat_tables(parts)
    g = allp.group_by(["ip", "name"]).aggregate([("first", "min"), ("last", "max"),
                                                 ("count", "sum")])
    return pa.table([g["ip"], g["name"], g["first_min"], g["last_max"], g["count_sum"],
                     pa.array(["dns.log"] * g.num_rows, pa.string())], schema=PDNS_SCHEMA)


def _mappings(t: pa.Table) -> pa.Table:
    """(ip, name, first, last, count) of one block."""
    empty = pa.table({"ip": pa.array([], pa.string()), "name": pa.array([], pa.string()),
                      "first": pa.array([], pa.timestamp("us", tz="UTC")),
                      "last": pa.array([], pa.timestamp("us", tz="UTC")),
                      "count": pa.array([], pa.int64())})
    t = t.filter(pc.and_(pc.is_valid(t["answers"]), pc.is_valid(t["query"])))
    if t.num_rows == 0:
        return empty
    parent = pc.list_parent_indices(t["answers"])
    flat = pc.list_flatten(t["answers"])
    rows = pa.table({"row": parent, "answer": flat})
    escaped = pc.take(t["escaped"], rows["row"])
    ans_ip = normalize_ips(flat)
    is_ip = pc.is_valid(ans_ip)
    ts_all = pc.cast(pc.multiply(t["ts"], 1e6), pa.int64())
    query = _clean_names(t["query"].combine_chunks() if isinstance(t["query"], pa.ChunkedArray)
                         else t["query"], t["escaped"])
    # forward answers: ip -> queried name, and ip -> CNAME targets of the same answer
    ip_rows = pa.table({"row": pc.filter(rows["row"], is_ip), "ip": pc.filter(ans_ip, is_ip)})
    name_mask = pc.invert(is_ip)
    cname = pa.table({"row": pc.filter(rows["row"], name_mask),
                      "name": _clean_names(pc.filter(flat, name_mask),
                                           pc.filter(escaped, name_mask))})
    pieces = []
    fwd_q = pa.table({"row": ip_rows["row"], "ip": ip_rows["ip"],
                      "name": pc.take(query, ip_rows["row"])})
    pieces.append(fwd_q)
    if cname.num_rows and ip_rows.num_rows:
        pieces.append(ip_rows.join(cname, "row").select(["row", "ip", "name"]))
    # reverse answers: PTR query names -> ip, answers are names
    qtype = t["qtype_name"]
    ptr = pc.fill_null(pc.equal(qtype, "PTR"), False)
    if pc.any(ptr).as_py() and cname.num_rows:
        ptr_rows = np.flatnonzero(np.asarray(ptr.to_numpy(zero_copy_only=False)))
        q_ip = {int(r): reverse_name_to_ip(str(query[int(r)].as_py())) for r in ptr_rows}
        q_ip = {r: ip for r, ip in q_ip.items() if ip is not None}
        if q_ip:
            rev = pa.table({"row": pa.array(list(q_ip), pa.int64()),
                            "ip": pa.array(list(q_ip.values()), pa.string())})
            cn = cname.set_column(0, "row", pc.cast(cname["row"], pa.int64()))
            pieces.append(rev.join(cn, "row").select(["row", "ip", "name"]))
    allp = pa.concat_tables([_int_row(x) for x in pieces])
    allp = allp.append_column("ts", pc.take(ts_all, allp["row"]))
    allp = allp.filter(pc.and_(pc.is_valid(allp["name"]),
                               pc.not_equal(allp["name"], "")))
    if allp.num_rows == 0:
        return empty
    g = allp.group_by(["ip", "name"]).aggregate([("ts", "min"), ("ts", "max"),
                                                 ("ts", "count")])
    ts_type = pa.timestamp("us", tz="UTC")
    return pa.table({"ip": g["ip"], "name": g["name"],
                     "first": pc.cast(g["ts_min"], ts_type), "last": pc.cast(g["ts_max"], ts_type),
                     "count": pc.cast(g["ts_count"], pa.int64())})


def _int_row(t: pa.Table) -> pa.Table:
    return t.set_column(0, "row", pc.cast(t["row"], pa.int64()))
