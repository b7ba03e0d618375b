"""tshark CSV reader: packet lines (``tshark -T fields ... -E header=y -E separator=,``) -> flows.

The header names the fields; both tshark's own names and the reduced spellings people use
are understood (dots/underscores and word order do not matter: ``tcp.srcport``,
``srcporttcp``, ``tcp_srcport`` are one field):

=========  ==================================================================================
role       header names
=========  ==================================================================================
time       ``frame.time_epoch`` (``frame.time_relative`` + ``start``)
source     ``ip.src``, ``ipv6.src`` (``ipsrc``, ``src``)
dest.      ``ip.dst``, ``ipv6.dst`` (``ipdst``, ``dst``)
ports      ``tcp.srcport``/``tcp.dstport``, ``udp.*``, ``sctp.*`` (``srcporttcp``, ...)
protocol   ``ip.proto``, ``ipv6.nxt``; otherwise told from the ports present (TCP/UDP columns),
           ``icmp.type``/``icmpv6.type`` or ``_ws.col.Protocol`` (ICMP, ICMPv6)
bytes      ``ip.len``, ``ipv6.plen`` + 40 (IP level, exact); else ``frame.len`` minus
           ``link_header`` (default 14, Ethernet; frames padded to 60 bytes stay padded)
flags      ``tcp.flags`` (``0x0012``) or ``tcp.flags.str``
=========  ==================================================================================

Values may be quoted (``-E quote=d``); with ``-E occurrence=a`` the first value is used (an
ICMP error's inner header is not the packet's). Packet lines with no IP address (ARP and other
non-IP frames) are skipped and counted in ``notes["skipped_non_ip"]``. The header line repeated
in the middle of a concatenated file is skipped, not rejected. A header-less file is read when
its lines have the ten fields of the common command line ``frame.time_epoch ip.src ip.dst
tcp.srcport tcp.dstport udp.srcport udp.dstport ip.proto frame.len tcp.flags``.

Packets become flows with :mod:`ingest.packets` (same timeouts as pcap). Without a time field,
each 5-tuple is one flow for the whole file, timed at ``start`` (CLI ``--start``; default 0).
A flow's line is its first packet's; ``notes["packets"]`` counts the packets aggregated and
``records`` counts flows + rejected lines (so read = loaded + rejected + duplicates holds).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.errors import InputFormatError
from ingest.base import (
    PROTO_TABLE,
    TS_MAX_S,
    Delimited,
    FlowBatch,
    ProgressFn,
    Reject,
    block_problems,
    canonical_table,
    empty_batch,
    first_nonnegative,
    float_column,
    has_byte,
    int_column,
    ips_canonical,
    lines_equal,
    map_distinct,
    normalize_ips,
    parse_delimited,
    parse_flag_letters,
    pipelined_segments,
    prefetched,
    proto_names,
    read_head,
    string_offsets,
    trimmed_text,
)
from ingest.packets import Aggregator, Packets, flows_table_columns

__all__ = ["DEFAULT_FIELDS", "read_tshark", "sniff_tshark"]

DEFAULT_FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport",
                  "udp.srcport", "udp.dstport", "ip.proto", "frame.len", "tcp.flags"]


def _norm(name: str) -> str:
    """``tcp.srcport`` / ``srcporttcp`` / ``tcp_srcport`` -> ``srcport|tcp`` (sorted words)."""
    s = name.strip().strip('"').lower()
    s = s.replace("_ws.col.", "col.")
    words = [w for w in re.split(r"[._\s-]+", s) if w]
    if len(words) == 1:  # glued spellings: ipsrc, dstporttcp, srcportudp, iplen
        w = words[0]
        for pre in ("ipv6", "ip", "tcp", "udp", "sctp", "frame", "icmpv6", "icmp"):
            if w.startswith(pre) and len(w) > len(pre):
                words = [pre, w[len(pre):]]
                break
        else:
            for suf in ("tcp", "udp", "sctp"):
                if w.endswith(suf) and len(w) > len(suf):
                    words = [w[: -len(suf)], suf]
                    break
    return "|".join(sorted(words))


_ROLES: dict[str, tuple[str, ...]] = {
    "time": ("frame.time_epoch", "time_epoch", "epoch", "ts", "timestamp", "time"),
    "reltime": ("frame.time_relative", "time_relative"),
    "src4": ("ip.src", "src", "source"),
    "src6": ("ipv6.src",),
    "dst4": ("ip.dst", "dst", "destination"),
    "dst6": ("ipv6.dst",),
    "tcp_sp": ("tcp.srcport",), "tcp_dp": ("tcp.dstport",),
    "udp_sp": ("udp.srcport",), "udp_dp": ("udp.dstport",),
    "sctp_sp": ("sctp.srcport",), "sctp_dp": ("sctp.dstport",),
    "any_sp": ("srcport", "sport", "src_port"), "any_dp": ("dstport", "dport", "dst_port"),
    "proto4": ("ip.proto",), "proto6": ("ipv6.nxt",),
    "colproto": ("_ws.col.Protocol", "protocol"),
    "icmp": ("icmp.type",), "icmp6": ("icmpv6.type",),
    "iplen": ("ip.len",), "ip6plen": ("ipv6.plen",),
    "framelen": ("frame.len", "len", "length", "frame.cap_len"),
    "flags": ("tcp.flags", "flags"), "flagstr": ("tcp.flags.str",),
}
_NUMERIC_ROLES = ("time", "reltime", "tcp_sp", "tcp_dp", "udp_sp", "udp_dp", "sctp_sp",
                  "sctp_dp", "any_sp", "any_dp", "iplen", "ip6plen", "framelen")
_BY_NORM: dict[str, str] = {}
for _role, _names in _ROLES.items():
    for _n in _names:
        _BY_NORM.setdefault(_norm(_n), _role)


def _roles(names: list[str]) -> dict[str, str]:
    """role -> the header name (first one found) that fills it."""
    out: dict[str, str] = {}
    for name in names:
        role = _BY_NORM.get(_norm(name))
        if role is not None and role not in out:
            out[role] = name
    return out


def _split(line: str) -> list[str]:
    return [x.strip().strip('"') for x in line.rstrip("\r\n").split(",")]


_HEADERLESS = re.compile(r'^"?\d+(\.\d+)?"?,"?[0-9a-fA-F:.]*"?,"?[0-9a-fA-F:.]*"?,')


def sniff_tshark(head: bytes) -> str | None:
    """``"csv"`` when the first line is a header of tshark fields naming source and
    destination addresses, or a header-less line of :data:`DEFAULT_FIELDS`.

    >>> sniff_tshark(b"frame.time_epoch,ip.src,ip.dst,tcp.srcport,tcp.dstport,frame.len\\n")
    'csv'
    >>> sniff_tshark(b"ipsrc,ipdst,dstporttcp,srcporttcp,len\\n")
    'csv'
    >>> sniff_tshark(b"1520628556.52,192.168.2.1,224.0.0.251,,,5353,5353,17,409,\\n")
    'csv'
    >>> sniff_tshark(b"StartTime,SrcAddr,DstAddr\\n") is None
    True
    """
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        roles = _roles(_split(line))
        if ({"src4", "src6"} & roles.keys()) and ({"dst4", "dst6"} & roles.keys()) and (
                len(roles) >= 3 or "time" in roles):
            return "csv"
        if _HEADERLESS.match(line) and line.count(",") == len(DEFAULT_FIELDS) - 1:
            return "csv"
        return None
    return None


def _transport(name: str | None) -> int:
    """1 TCP, 2 another transport with ports, 0 the rest."""
    return 1 if name == "tcp" else 2 if name in ("udp", "sctp") else 0


#: protocol number (256: none) -> its row of PROTO_TABLE: 256 (none) for the IPv6 extension
#: headers (0, 43, 44, 60), which are not the transport
_PROTO_CODE = np.where(np.isin(np.arange(257), [0, 43, 44, 60]), 256,
                       np.arange(257)).astype(np.int16)
#: row of PROTO_TABLE -> _transport of its name
_TRANSPORT_OF_CODE = np.array([_transport(v) for v in PROTO_TABLE.to_pylist()], np.int8)


def _first_value(col: pa.Array) -> pa.Array:
    """``a,b`` (several occurrences) -> ``a``; surrounding blanks trimmed; empty -> null.

    >>> _first_value(pa.array(["10.0.0.1,10.0.0.2", " 6 ", "", None, "x"])).to_pylist()
    ['10.0.0.1', '6', None, None, 'x']
    """
    s = trimmed_text(col)
    # looked at in the column's bytes: a comma anywhere, an empty value
    if has_byte(s, ord(",")):
        s = pc.replace_substring_regex(s, ",.*$", "")
    ends = string_offsets(s)
    empty = ends[1:] == ends[:-1]
    if empty.any():
        return pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), s)
    return s


def _guess_proto(n: int, tcp_sp: np.ndarray | None, udp_sp: np.ndarray | None,
                 sctp_sp: np.ndarray | None, icmp: pa.Array | None,
                 colproto: pa.Array | None) -> pa.Array:
    """The transport of packets without a protocol number, told from the columns that are
    filled (ports of a protocol, an ICMP field, the protocol column's text); else null."""
    code = np.zeros(n, np.int8)
    for arr, c in ((tcp_sp, 1), (udp_sp, 2), (sctp_sp, 3)):
        if arr is not None:
            code = np.where((code == 0) & (arr >= 0), c, code)
    if icmp is not None:
        code = np.where((code == 0) & np.asarray(pc.is_valid(icmp)), 4, code)
    if colproto is not None:
        is_icmp = np.asarray(pc.fill_null(pc.match_substring_regex(
            pc.utf8_lower(colproto), r"^icmp"), False))
        code = np.where((code == 0) & is_icmp, 4, code)
    return pa.array([None, "tcp", "udp", "sctp", "icmp"], pa.string()).take(pa.array(code))


def _parse(path: str, lines: pa.StringArray, nos: np.ndarray, names: list[str],
           roles: dict[str, str], quoted: bool, native_ints: dict[str, str]) -> Delimited:
    """The columns of a block's lines that play a role, numbers typed."""
    typed = {name: (pa.float64() if role in ("time", "reltime") else pa.int64())
             for role, name in roles.items() if role in _NUMERIC_ROLES}
    return parse_delimited(path, lines, nos, names, ",", quoted=quoted,
                           include=list(dict.fromkeys(roles.values())), types=typed,
                           native_ints=native_ints)


def _native_ints(names: list[str], roles: dict[str, str], first_row: list[str]
                 ) -> dict[str, str]:
    """The text columns worth reading as numbers natively, judged by the first data row: the
    protocol numbers (text: a packet may carry two, ``1,17``; empty in the other IP version's
    column) and ``0x12``-style TCP flags.
    A block where any value has another form is read as text, as the others are."""
    row = dict(zip(names, first_row, strict=False))
    out = {}
    for role, form, pattern in (("proto4", "int", r"\d*"), ("proto6", "int", r"\d*"),
                                ("flags", "hex", r"0[xX][0-9a-fA-F]+")):
        name = roles.get(role)
        if name and re.fullmatch(pattern, row.get(name, "")):
            out[name] = form
    return out


def _filled(values: pa.Array, fill: float) -> np.ndarray:
    """A number column as numpy, nulls as ``fill`` (no copy when there are none)."""
    return np.asarray(values if values.null_count == 0 else pc.fill_null(values, fill))


def _none_where(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``np.where(mask, -1, a)`` for int64 ``a``, without a branch per row (an OR with -1 or
    0), in ``a`` itself when it is writable."""
    out: np.ndarray = np.bitwise_or(a, -mask.view(np.int8).astype(np.int64),
                                    out=a if a.flags.writeable else None)
    return out


def _packets(path: str, d: Delimited, roles: dict[str, str], start: float, link_header: int,
             normalize: bool = True) -> tuple[Packets, list[Reject], int]:
    """A parsed block's packets (IP only, checked), its rejects and how many non-IP rows
    (ARP and the like: not flows, not rejects) it skipped.

    ``normalize=False``: the addresses are left as written (only missing ones are rejects),
    for the caller to check on the flows they make (see :func:`read_tshark`).
    """
    tab, n = d.table, d.table.num_rows
    rejects = list(d.rejects)

    cols: dict[str, pa.Array | None] = {}

    def col(role: str) -> pa.Array | None:
        if role not in cols:
            name = roles.get(role)
            c = None if not name else tab.column(name)
            if c is not None:  # (combining one chunk would copy it)
                c = c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()
            cols[role] = c if c is None or c.type != pa.string() else _first_value(c)
        return cols[role]

    def coalesce(*cs: pa.Array | None) -> pa.Array | None:
        got = [c for c in cs if c is not None]
        if not got:
            return None
        if len({c.type for c in got}) > 1:  # a number column read natively beside text
            got = [c.cast(pa.string()) for c in got]
        return pc.coalesce(*got) if len(got) > 1 else got[0]

    src = coalesce(col("src4"), col("src6"))
    dst = coalesce(col("dst4"), col("dst6"))
    src = src if src is not None else pa.nulls(n, pa.string())
    dst = dst if dst is not None else pa.nulls(n, pa.string())
    non_ip = np.asarray(pc.and_(pc.is_null(src), pc.is_null(dst)))
    problems: list[tuple[np.ndarray | None, str]] = []

    def ints(role: str) -> pa.Array | None:
        c = col(role)
        if c is None:
            return None
        val, bad = int_column(c)
        problems.append((bad, f"{roles[role]}: not a number"))
        return val

    def minus_one(c: pa.Array | None) -> np.ndarray | None:
        return None if c is None else np.asarray(pc.fill_null(c, -1), dtype=np.int64)

    tcp_sp, tcp_dp = ints("tcp_sp"), ints("tcp_dp")
    udp_sp, udp_dp = ints("udp_sp"), ints("udp_dp")
    sctp_sp, sctp_dp = ints("sctp_sp"), ints("sctp_dp")
    any_sp, any_dp = ints("any_sp"), ints("any_dp")
    # the first port column that has one, in this order
    sport = first_nonnegative([(tcp_sp, 0), (udp_sp, 0), (sctp_sp, 0), (any_sp, 0)], n)
    dport = first_nonnegative([(tcp_dp, 0), (udp_dp, 0), (sctp_dp, 0), (any_dp, 0)], n)
    proto_num = coalesce(col("proto4"), col("proto6"))
    # IPv6 extension headers (hop-by-hop, routing, fragment, destination options) are not
    # the transport: tell it from the other fields
    bounds = pc.min_max(proto_num).as_py() if proto_num is not None and pa.types.is_integer(
        proto_num.type) else None
    transport = None  # 1 TCP, 2 another transport with ports, 0 the rest
    if bounds is not None and (bounds["min"] or 0) >= 0 and (bounds["max"] or 0) <= 255:
        # protocol numbers (read natively): looked up (256: none)
        code = _PROTO_CODE[_filled(proto_num, 256)]
        proto = PROTO_TABLE.take(code)
        transport = _TRANSPORT_OF_CODE[code]
    else:
        proto = proto_names(proto_num) if proto_num is not None else pa.nulls(n, pa.string())
        proto = pc.if_else(pc.fill_null(pc.is_in(proto, pa.array(["0", "43", "44", "60"])),
                                        False), pa.scalar(None, pa.string()), proto)
    if proto.null_count:  # no protocol number: tell it from the columns that are filled
        proto = pc.coalesce(proto, _guess_proto(
            n, minus_one(tcp_sp), minus_one(udp_sp), minus_one(sctp_sp),
            coalesce(col("icmp"), col("icmp6")), col("colproto")))
        transport = None
    # bytes: IP level when the capture says so, else frame bytes less the link header
    length = first_nonnegative([(ints("iplen"), 0), (ints("ip6plen"), 40),
                                (ints("framelen"), -link_header)], n)
    flags_raw = col("flags")
    if flags_raw is None:
        flags_raw = col("flagstr")
    flags = parse_flag_letters(flags_raw) if flags_raw is not None else np.full(n, -1, np.int64)
    if transport is None:  # by distinct value, not row by row
        transport = np.asarray(pc.fill_null(map_distinct(proto, _transport, pa.int8()), 0))
    flags = _none_where(flags, transport != 1)
    role = "time" if col("time") is not None else "reltime"
    t = col(role)
    if t is not None:
        secs, bad = float_column(t)
        problems.append((bad, f"{roles[role]}: not a number"))
        ts = _filled(secs, np.nan)
        missing = np.isnan(ts)  # an empty value (a number that is not one: said above)
        if bad is not None:
            missing &= ~bad
        problems.append((missing, "missing packet time"))
        if role == "reltime":
            ts = ts + start
    else:
        ts = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):  # NaN: no time, told above
        problems.append(((ts < 0) | (ts >= TS_MAX_S), "packet time out of range (1970-2100)"))
    # validation: addresses, protocol, ports in range
    src_n, dst_n = (normalize_ips(src), normalize_ips(dst)) if normalize else (src, dst)
    problems.append((np.asarray(pc.is_null(src_n)) & ~non_ip, "missing or invalid source "
                                                                 "address"))
    problems.append((np.asarray(pc.is_null(dst_n)) & ~non_ip, "missing or invalid destination "
                                                                 "address"))
    problems.append((np.asarray(pc.is_null(proto)) & ~non_ip,
                     "cannot tell the transport protocol (no ip.proto, no port or ICMP field)"))
    problems.append(((sport > 65535) | (dport > 65535), "port out of range 0-65535"))
    no_ports = transport == 0
    sport, dport = _none_where(sport, no_ports), _none_where(dport, no_ports)
    bad = np.zeros(n, dtype=bool)
    reasons = np.empty(n, dtype=object)
    for mask, reason in block_problems(*problems):
        m = mask & ~bad & ~non_ip
        reasons[m] = reason
        bad |= m
    if not normalize and bad.any():
        # a rejected packet's addresses never reach a flow, where they would be checked: one
        # that is not canonical may owe its reason to the address (as the check on every
        # packet has it), so its block is done again that way
        rows = pa.array(bad)
        if not all(ips_canonical(pc.drop_null(c.filter(rows))) for c in (src, dst)):
            return _packets(path, d, roles, start, link_header)
    if bad.any():
        texts = pc.utf8_rtrim(d.lines, characters="\r\n").filter(pa.array(bad)).to_pylist()
        for i, text in zip(np.flatnonzero(bad), texts, strict=True):
            rejects.append(Reject(path, int(d.line_nos[i]), str(reasons[i]), text or ""))
    keep = ~bad & ~non_ip
    np.maximum(length, 0, out=length)
    pk = Packets.of_packets(ts, src_n, dst_n, sport, dport, proto, length, flags, d.line_nos)
    if not keep.all():
        pk = pk.take(np.flatnonzero(keep))
    return pk, sorted(rejects, key=lambda r: r.line), int(non_ip.sum())


def _batch(path: str, flows: Packets, start: float) -> FlowBatch:
    cols = flows_table_columns(flows)
    ts = np.asarray(cols["ts"].to_numpy(zero_copy_only=False), dtype=np.float64)
    cols["ts"] = pa.array(np.where(np.isnan(ts), start, ts))
    return canonical_table(cols, n=len(flows), lines=flows.line, path=path, raw_lines=None,
                           canonical_ips=True)


def read_tshark(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
                progress: ProgressFn | None = None, start: float = 0.0,
                link_header: int = 14) -> Iterator[FlowBatch]:
    """Read tshark ``-T fields`` CSV (packets) and aggregate it into canonical flows."""
    path = os.fspath(path)
    head = read_head(path)
    if not head.strip():
        yield empty_batch(path)
        return
    if sniff_tshark(head) is None:
        raise InputFormatError(path, None, "not tshark CSV (first line is neither a header of "
                               "tshark fields with source and destination addresses nor a "
                               "header-less line of the default ten fields)")
    head_lines = [ln for ln in head.decode("utf-8", "replace").splitlines() if ln.strip()]
    first = head_lines[0]
    header_text = first.rstrip("\r\n")
    header_less = not _roles(_split(first))
    names = DEFAULT_FIELDS if header_less else [x.strip().strip('"')
                                                 for x in header_text.split(",")]
    roles = _roles(names)
    quoted = '"' in head[:4096].decode("utf-8", "replace")
    agg = Aggregator()
    segments = pipelined_segments(
        path, block_bytes, progress,
        is_header=lambda ls: lines_equal(ls, header_text) & (not header_less))
    # threads hand the blocks on: read and cut | parse | packets | aggregate | rows (here)
    data_lines = head_lines[0 if header_less else 1:]
    as_ints = _native_ints(names, roles, _split(data_lines[0]) if data_lines else [])
    parsed = prefetched(_parse(path, seg.lines, seg.line_nos, names, roles, quoted, as_ints)
                        for seg in segments)
    # The addresses are checked on the flows, not the packets (3-4 times fewer): when every
    # flow's are canonical, so were the packets' texts they were grouped by. Otherwise (an
    # invalid address, or two spellings of one, which would split a flow) the block is done
    # again from its normalised packets, exactly as the check on every packet would have.
    def aggregated() -> Iterator[tuple[Packets, list[Reject], int, int]]:
        for d, (pk, rejects, non_ip) in prefetched(
                (d, _packets(path, d, roles, start, link_header, normalize=False))
                for d in parsed):
            flows = agg.push_if(pk, lambda f: ips_canonical(f.src) and ips_canonical(f.dst))
            if flows is None:
                pk, rejects, non_ip = _packets(path, d, roles, start, link_header)
                flows = agg.push(pk)
            yield flows, rejects, non_ip, len(pk)
        yield agg.push(Packets.of_packets(
            np.zeros(0), pa.array([], pa.string()), pa.array([], pa.string()),
            np.zeros(0, np.int64), np.zeros(0, np.int64), pa.array([], pa.string()),
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)),
            final=True), [], 0, 0

    # and a fifth: the flows of one block become canonical rows while the next is aggregated
    for flows, rejects, non_ip, packets in prefetched(aggregated()):
        b = _batch(path, flows, start)
        b.rejects = rejects + b.rejects
        b.records = b.table.num_rows + len(b.rejects)
        if packets:
            b.notes["packets"] = packets
        if non_ip:
            b.notes["skipped_non_ip"] = non_ip
        yield b
