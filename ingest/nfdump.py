"""nfdump CSV reader: what ``nfdump -r FILE -o csv`` prints, one record per direction, stitched.

Layouts, recognised by the header line (columns in any order, extra columns ignored):

* **classic** (nfdump 1.6 and 1.7.x up to 1.7.1, the Debian 12 version):
  ``ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,...`` with times written
  ``2018-01-12 15:37:30`` (local time of the machine that ran nfdump; read as UTC, so run
  nfdump with ``TZ=UTC``), ``td`` the duration in seconds.
* **nfdump 1.7 named layout** (newer 1.7 releases and ``-o csv:%fmt``): long names such as
  ``firstSeen,lastSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,flags,packets,bytes``
  (``inPackets``/``inBytes``/``outPackets``/``outBytes`` also understood).
* header-less classic output (``-q``): 48 fields in the classic order.

The ``Summary`` footer (and everything up to the next header, in concatenated outputs) is not
data; a header repeated mid-file is skipped. ``flg`` (``...AP.S.``) gives ``tcp_flags``.

Mapping: ``ts``/``firstSeen`` -> ts; ``td`` -> duration; ``sa``/``da``/``sp``/``dp``/``pr``;
``ibyt``/``ipkt`` -> src_bytes/src_pkts (NetFlow octets are IP-level); ``obyt``/``opkt`` ->
dst_bytes/dst_pkts (non-zero only for biflow/NSEL records). Unidirectional records are then
stitched into connections (:mod:`ingest.stitch`, ``stitch=False`` to keep them one-way); the
batch's ``notes["stitched"]`` counts the records merged into their other direction.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.base import (
    Converted,
    FlowBatch,
    ProgressFn,
    aux_for,
    block_problems,
    canonical_table,
    checked_path,
    empty_batch,
    float_column,
    header_mask,
    int_column,
    lines_equal,
    orphan_lines,
    parse_delimited,
    parse_flag_letters,
    pipelined_segments,
    port_column,
    proto_names,
    stitched_batches,
    time_column,
)
from ingest.stitch import DEFAULT_WINDOW_S, Stitcher

__all__ = ["CLASSIC_FIELDS", "read_nfdump", "sniff_nfdump"]

CLASSIC_FIELDS = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,"
    "nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,"
    "mpls9,mpls10,cl,sl,al,ra,eng,exid,tr").split(",")

#: canonical role -> the column names that can fill it, first found wins
_ROLES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "firstSeen", "tfs", "first"),
    "te": ("te", "lastSeen", "last"),
    "td": ("td", "duration"),
    "sa": ("sa", "srcAddr", "srcaddr"),
    "da": ("da", "dstAddr", "dstaddr"),
    "sp": ("sp", "srcPort", "srcport"),
    "dp": ("dp", "dstPort", "dstport"),
    "pr": ("pr", "proto"),
    "flg": ("flg", "flags", "tcpFlags"),
    "ipkt": ("ipkt", "inPackets", "pkt", "packets"),
    "ibyt": ("ibyt", "inBytes", "byt", "bytes"),
    "opkt": ("opkt", "outPackets"),
    "obyt": ("obyt", "outBytes"),
}

#: parsed typed in one pass when every value of the block allows it
_TYPES = {**{c: pa.int64() for c in ("sp", "dp", "ipkt", "ibyt", "opkt", "obyt", "srcPort",
                                     "dstPort", "packets", "bytes", "inPackets", "inBytes",
                                     "outPackets", "outBytes")},
          "td": pa.float64(), "duration": pa.float64(),
          **{c: pa.timestamp("us") for c in ("ts", "te", "firstSeen", "lastSeen")}}
_HEADER_RE = r"(^|,)(sa|srcAddr|srcaddr)(,|\r?\n?$)"
_HEADERLESS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?,\d{4}-\d{2}-\d{2} ")


def _header_names(header: str) -> list[str]:
    return [h.strip() for h in header.split(",")]


def sniff_nfdump(head: bytes) -> str | None:
    """``"csv"`` when the first non-empty line is an nfdump CSV header (or a header-less
    classic record).

    >>> sniff_nfdump(b"ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt\\n")
    'csv'
    >>> sniff_nfdump(b"firstSeen,lastSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort\\n")
    'csv'
    >>> sniff_nfdump(b"StartTime,Dur,Proto,SrcAddr,Sport\\n") is None
    True
    """
    text = head.decode("utf-8", "replace")
    for line in text.splitlines():
        if not line.strip():
            continue
        names = set(_header_names(line))
        if ({"sa", "da"} <= names and ({"ts", "pr"} & names)) or (
                {"srcAddr", "dstAddr"} <= names and ({"firstSeen", "proto"} & names)):
            return "csv"
        if _HEADERLESS_RE.match(line) and line.count(",") == len(CLASSIC_FIELDS) - 1:
            return "csv"
        return None
    return None


def _is_header(lines: pa.StringArray) -> np.ndarray:
    mask = header_mask(lines)  # starts with a letter: cheap, and rare
    if mask.any():
        idx = np.flatnonzero(mask)
        ok = np.asarray(pc.fill_null(pc.match_substring_regex(
            lines.take(pa.array(idx)), _HEADER_RE), False))
        mask[idx[~ok]] = False
    return mask


def _column(tab: pa.Table, names: list[str], role: str) -> pa.Array | None:
    for cand in _ROLES[role]:
        if cand in names and cand in tab.column_names:
            return tab.column(cand)
    return None


def _convert(path: str, seg_lines: pa.StringArray, line_nos: np.ndarray,
             names: list[str]) -> tuple[FlowBatch, np.ndarray, np.ndarray]:
    wanted = [c for role in _ROLES.values() for c in role if c in names]
    d = parse_delimited(path, seg_lines, line_nos, names, ",", quoted=True, include=wanted,
                        types=_TYPES)
    tab, n = d.table, len(d.line_nos)
    if n == 0:
        b = empty_batch(path, records=len(d.rejects), rejects=d.rejects)
        return b, np.zeros(0, np.int64), np.zeros(0, np.int64)

    def col(role: str) -> pa.Array | None:
        return _column(tab, names, role)

    ts_raw = col("ts")
    ts, ts_bad = time_column(ts_raw) if ts_raw is not None else (pa.nulls(n, pa.float64()),
                                                                  None)
    te_raw = col("te")
    te, te_bad = time_column(te_raw) if te_raw is not None else (ts, None)
    td_raw = col("td")
    if td_raw is not None:
        dur, dur_bad = float_column(td_raw)
    else:
        dur, dur_bad = pc.subtract(te, ts), None
    proto = proto_names(col("pr")) if col("pr") is not None else pa.nulls(n, pa.string())
    sp, sp_bad = port_column(col("sp"), proto, n)
    dp, dp_bad = port_column(col("dp"), proto, n)
    counters = {}
    bads: list[tuple[np.ndarray | None, str]] = [
        (te_bad, "te: not a time"), (dur_bad, "td: not a number"),
        (sp_bad, "source port: not a number"), (dp_bad, "destination port: not a number")]
    for role, canon in (("ipkt", "src_pkts"), ("ibyt", "src_bytes"), ("opkt", "dst_pkts"),
                        ("obyt", "dst_bytes")):
        raw = col(role)
        if raw is None:
            counters[canon] = pa.nulls(n, pa.int64()) if role in ("ipkt", "ibyt") else pa.array(
                np.zeros(n, np.int64))
            continue
        # nfdump may scale big counters ("1.2 M") in non-csv modes; csv prints plain numbers
        val, bad = int_column(raw)
        counters[canon] = val
        bads.append((bad, f"{role}: not a number"))
    flg = col("flg")
    bits = parse_flag_letters(flg) if flg is not None else np.full(n, -1, np.int64)
    end_us = np.asarray(pc.fill_null(pc.multiply(pc.coalesce(te, ts), 1e6), 0).cast(
        pa.int64(), safe=False))
    cols = {
        "ts": ts, "duration": dur, "src_ip": col("sa"), "dst_ip": col("da"),
        "src_port": sp, "dst_port": dp, "proto": proto, **counters,
    }
    batch = canonical_table(cols, n=n, lines=d.line_nos, path=path, raw_lines=d.lines,
                            problems=block_problems(*bads) + (
                                [] if ts_bad is None else block_problems(
                                    (ts_bad, "ts: not a time"))))
    batch.rejects = d.rejects + batch.rejects
    batch.records += len(d.rejects)
    batch.rejects.sort(key=lambda r: r.line)
    kept_bits, kept_end = aux_for(batch.table, d.line_nos, bits, end_us)
    return batch, kept_bits, kept_end


def read_nfdump(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
                progress: ProgressFn | None = None, stitch: bool = True,
                stitch_window: float = DEFAULT_WINDOW_S) -> Iterator[FlowBatch]:
    """Read ``nfdump -o csv`` output as canonical flow batches, stitching both directions.

    Raises :class:`~graphflow.errors.InputFormatError` when the file is not nfdump CSV.
    """
    path = checked_path(path, sniff_nfdump, "nfdump CSV (no header naming sa/da or "
                                            "srcAddr/dstAddr, and not header-less classic)")
    # without stitching every record stays one-way (an impossible window), states still set
    stitcher = Stitcher(window_s=stitch_window if stitch else -1e9)
    segments = pipelined_segments(
        path, block_bytes, progress,
        is_header=_is_header,
        is_footer=lambda ls: lines_equal(ls, "Summary"))

    def blocks() -> Iterator[Converted]:
        for seg in segments:
            if seg.header is None:
                names = CLASSIC_FIELDS
            else:
                names = _header_names(seg.header)
                if not (("sa" in names or "srcAddr" in names) and (
                        "da" in names or "dstAddr" in names)):
                    yield orphan_lines(path, seg, "line under a header that is not nfdump's")
                    continue
            batch, bits, end_us = _convert(path, seg.lines, seg.line_nos, names)
            yield batch, bits, end_us, {}

    yield from stitched_batches(path, blocks(), stitcher)
