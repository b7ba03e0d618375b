"""Argus reader: ``ra ... -c ,`` output and CTU-13 ``.binetflow`` files (CSV or tab).

The header line names the columns (any subset, any order, the labels ``ra`` prints:
``StartTime``, ``LastTime``, ``Dur``, ``Proto``, ``SrcAddr``, ``Sport``, ``Dir``, ``DstAddr``,
``Dport``, ``State``, ``TotPkts``, ``TotBytes``, ``SrcBytes``, ``DstBytes``, ``SrcPkts``,
``DstPkts``, ``Label``, ...); the separator is whatever the header uses (``,``, tab, ``;``,
``|``). A header repeated mid-file (concatenated exports) is skipped.

* **Time**: ``StartTime`` as epoch seconds (``ra -u``) or a date-time (``2011/08/10
  11:34:53.221630``, the CTU-13 form). Argus prints local time without a zone: it is read as
  UTC (export with ``TZ=UTC``, or ``-u``). ``ra``'s default time-of-day-only format has no date
  and is rejected with that reason. ``Dur`` (or ``LastTime - StartTime``) is the duration.
* **Direction**: ``Dir`` (``->``, ``<-``, ``<->``, ``<?>``, ``?>``, ``<?``, ``who``, ...) never
  swaps the endpoints: Argus' source is its originator; a ``?`` only says Argus was unsure.
  The arrow fills in what the counters do not say (``->`` alone: nothing came back).
* **State**: flag pairs (``ra -Z b``, as in CTU-13: ``S_RA``, ``FSPA_FSPA``) go through
  :func:`ingest.base.flag_pair_state` (``S_RA`` -> ``REJ``, ``S_`` -> ``S0``) and are kept as
  ``tcp_flags``; Argus' own states map as: TCP ``REQ``/``INT``/``TIM`` -> ``S0`` when nothing
  came back, else ``OTH``; ``ACC``/``CON`` -> ``S1``; ``FIN``/``CLO`` -> ``SF``; ``RST`` ->
  ``RSTO``; states already in Zeek's vocabulary (Slips' exports) are kept; other protocols:
  ``CON`` when the responder sent anything (or ``CON``/``ECR``/``ACC``), else ``INT``.
* **Counters**: ``SrcBytes``/``DstBytes``/``SrcPkts``/``DstPkts``, or derived from ``TotBytes``/
  ``TotPkts`` (``DstBytes = TotBytes - SrcBytes``); with only totals (no split) the directions
  stay null, as nothing says how the total divides. Argus counts bytes on the wire, link
  header included: ``link_header`` (default 14, Ethernet) bytes per packet are subtracted
  where the direction's packet count is known, giving the canonical IP-level bytes (0 keeps
  Argus' numbers; Ethernet padding of frames under 60 bytes cannot be told apart and stays).
* **Label**: the ``Label`` column as is (``flow=From-Botnet-V42-TCP-...``, ``Background``).
* Records that are not IP flows (``man`` management records, ``arp``, ``llc``) are skipped and
  counted in ``notes["skipped_non_ip"]``; they are not records of the canonical table.
* One-way records of both directions of a connection (Argus run with unidirectional flows)
  are stitched like nfdump's (:mod:`ingest.stitch`); ``stitch=False`` turns that off.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.errors import InputFormatError
from graphflow.schema import CONN_STATES
from ingest.base import (
    NON_IP_PROTOS,
    Converted,
    FlowBatch,
    ProgressFn,
    aux_for,
    block_problems,
    canonical_table,
    checked_path,
    empty_batch,
    end_times_us,
    flag_pair_state,
    float_column,
    header_mask,
    int_column,
    map_distinct,
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

__all__ = ["read_argus", "sniff_argus"]

#: parsed typed in one pass when every value of the block allows it (ports are not: Argus
#: writes ICMP type/code in hex there)
_TYPES = {"Dur": pa.float64(), **{c: pa.int64() for c in (
    "TotPkts", "TotBytes", "SrcBytes", "DstBytes", "SrcPkts", "DstPkts")}}
_SEPARATORS = ("\t", ",", ";", "|")
_FLAG_PAIR_RE = r"^[FSRPAUECW]*_[FSRPAUECW]*$"
_COLUMNS = ("StartTime", "LastTime", "Dur", "Proto", "SrcAddr", "Sport", "Dir", "DstAddr",
            "Dport", "State", "TotPkts", "TotBytes", "SrcBytes", "DstBytes", "SrcPkts",
            "DstPkts", "Label")


def _separator(header: str) -> str:
    for sep in _SEPARATORS:
        if sep in header:
            return sep
    return ","


def _names(header: str) -> list[str]:
    return [h.strip() for h in header.rstrip("\r\n").split(_separator(header))]


def sniff_argus(head: bytes) -> str | None:
    """``"csv"`` when the first non-empty line is an Argus header naming SrcAddr and DstAddr.

    >>> sniff_argus(b"StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State\\n")
    'csv'
    >>> sniff_argus(b"StartTime\\tDur\\tProto\\tSrcAddr\\tSport\\tDir\\tDstAddr\\n")
    'csv'
    >>> sniff_argus(b"ts,te,td,sa,da\\n") is None
    True
    """
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        names = set(_names(line))
        return "csv" if {"SrcAddr", "DstAddr"} <= names else None
    return None


_ARGUS_WORDS = ("REQ", "INT", "TIM", "ACC", "CON", "FIN", "CLO", "RST", "ECR")
_FLAG_PAIR = re.compile(_FLAG_PAIR_RE)


def _dir_back(dir_: pa.Array) -> np.ndarray:
    """Rows whose ``Dir`` arrow points back at the source (``<->``, ``<?>``, ``<-``)."""
    back = map_distinct(dir_.cast(pa.string()), lambda v: v.strip().startswith("<"),
                        pa.bool_())
    return np.asarray(pc.fill_null(back, False), dtype=bool)


def _map_state(state: pa.Array, proto: pa.Array, dir_: pa.Array | None, src_pkts: np.ndarray,
               dst_pkts: np.ndarray, dst_bytes: np.ndarray
               ) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Argus ``State`` -> (canonical state, ``tcp_flags``, the source's own flag bits or -1).

    The text of a State is looked at once per distinct value (a few), then spread to the rows.
    """
    if isinstance(state, pa.ChunkedArray):
        state = state.combine_chunks()
    enc = pc.dictionary_encode(state.cast(pa.string()))
    texts = [(v or "").strip().upper() for v in enc.dictionary.to_pylist()] + [""]
    # per distinct value (the last slot: null)
    pair_d = np.array([bool(_FLAG_PAIR.match(t)) for t in texts])
    halves = [t.split("_", 1) if p else ["", ""] for t, p in zip(texts, pair_d, strict=True)]
    s_bits_d = parse_flag_letters(pa.array([h[0] for h in halves], pa.string()))
    d_bits_d = parse_flag_letters(pa.array([h[1] for h in halves], pa.string()))
    wid_d = np.array([_ARGUS_WORDS.index(t) if t in _ARGUS_WORDS else -1 for t in texts])
    zeek_d = np.array([t in CONN_STATES for t in texts])
    idx = np.asarray(pc.fill_null(enc.indices, len(texts) - 1), dtype=np.int64)
    back = (dst_pkts > 0) | (dst_bytes > 0)
    if dir_ is not None:
        # "<->", "<?>", "<-" ... : the responder sent something (when counters do not say)
        both = _dir_back(dir_) & (dst_pkts < 0) & (dst_bytes < 0)
        back = back | both
    is_tcp_row = np.asarray(pc.fill_null(pc.equal(proto, "tcp"), False))
    # the answer depends on (State, TCP or not, responder sent something) only: decided for
    # each such combination (4 per distinct State), then spread to the rows by one take
    key = idx * 4 + is_tcp_row * 2 + back
    c_idx = np.repeat(np.arange(len(texts)), 4)
    c_tcp = np.tile(np.array([False, False, True, True]), len(texts))
    c_back = np.tile(np.array([False, True, False, True]), len(texts))
    text = pa.array(texts, pa.string()).take(pa.array(c_idx))
    pair, wid, zeek = pair_d[c_idx], wid_d[c_idx], zeek_d[c_idx]
    # flag pairs: src letters before "_", dst letters after
    s_bits = s_bits_d[c_idx]
    pair_state = flag_pair_state(pa.array(np.where(c_tcp, "tcp", "udp")), s_bits,
                                 d_bits_d[c_idx], np.where(c_back, 1, 0))
    # Argus' own state words
    attempt = (wid >= 0) & (wid <= 2)
    names = ["S0", "OTH", "S1", "SF", "RSTO", "CON", "INT"]
    code = np.where(c_tcp, np.select(
        [attempt & ~c_back, attempt, (wid == 3) | (wid == 4), (wid == 5) | (wid == 6),
         wid == 7], [0, 1, 2, 3, 4], default=-1),
        np.where(c_back | (wid == 3) | (wid == 4) | (wid == 8), 5, 6))
    named = pa.array(names, pa.string()).take(pa.array(np.maximum(code, 0).astype(np.int32),
                                                       mask=code < 0))
    named = pc.if_else(pa.array(zeek), text, named)
    out = pc.if_else(pa.array(pair), pair_state, named)
    own = pair & c_tcp
    flags = pc.if_else(pa.array(own), text, pa.scalar(None, pa.string()))
    rows = pa.array(key)
    return out.take(rows), flags.take(rows), np.where(own, s_bits, -1)[key]


def _np_int(a: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(a, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _convert(path: str, seg_lines: pa.StringArray, line_nos: np.ndarray, names: list[str],
             sep: str, link_header: int) -> tuple[FlowBatch, np.ndarray, np.ndarray, int]:
    wanted = [c for c in _COLUMNS if c in names]
    d = parse_delimited(path, seg_lines, line_nos, names, sep, quoted=True, include=wanted,
                        types=_TYPES)
    tab = d.table
    lines, nos = d.lines, d.line_nos
    skipped = 0
    if len(nos) and "Proto" in tab.column_names:
        proto_all = proto_names(tab.column("Proto"))
        non_ip = np.asarray(pc.fill_null(pc.is_in(proto_all, pa.array(sorted(NON_IP_PROTOS))),
                                         False))
        if non_ip.any():
            skipped = int(non_ip.sum())
            keep = pa.array(~non_ip)
            tab, lines, nos = tab.filter(keep), lines.filter(keep), nos[~non_ip]
    n = len(nos)
    if n == 0:
        b = empty_batch(path, records=len(d.rejects), rejects=d.rejects)
        return b, np.zeros(0, np.int64), np.zeros(0, np.int64), skipped

    def col(name: str) -> pa.Array | None:
        return tab.column(name) if name in tab.column_names else None

    bads: list[tuple[np.ndarray | None, str]] = []
    st = col("StartTime")
    if st is None:
        raise InputFormatError(path, None, "Argus header has no StartTime column")
    ts, ts_bad = time_column(st)
    bads.append((ts_bad, "StartTime: not a date-time or epoch seconds (ra's default "
                         "time-of-day format has no date: export with ra -u)"))
    dur_raw = col("Dur")
    if dur_raw is not None:
        dur, bad = float_column(dur_raw)
        bads.append((bad, "Dur: not a number"))
    elif col("LastTime") is not None:
        lt, bad = time_column(col("LastTime"))
        bads.append((bad, "LastTime: not a time"))
        dur = pc.subtract(lt, ts)
    else:
        dur = pa.nulls(n, pa.float64())
    proto = proto_names(col("Proto")) if col("Proto") is not None else pa.nulls(n, pa.string())
    sp, sp_bad = port_column(col("Sport"), proto, n)
    dp, dp_bad = port_column(col("Dport"), proto, n)
    bads += [(sp_bad, "Sport: not a port number"), (dp_bad, "Dport: not a port number")]
    num: dict[str, np.ndarray] = {}
    for name in ("TotPkts", "TotBytes", "SrcBytes", "DstBytes", "SrcPkts", "DstPkts"):
        raw = col(name)
        if raw is None:
            num[name] = np.full(n, -1, np.int64)
            continue
        val, bad = int_column(raw)
        bads.append((bad, f"{name}: not a number"))
        num[name] = _np_int(val)
    tot_b, tot_p = num["TotBytes"], num["TotPkts"]
    src_b, dst_b = num["SrcBytes"], num["DstBytes"]
    src_p, dst_p = num["SrcPkts"], num["DstPkts"]
    dir_ = col("Dir")
    src_b = np.where((src_b < 0) & (dst_b >= 0) & (tot_b >= 0), tot_b - dst_b, src_b)
    dst_b = np.where((dst_b < 0) & (src_b >= 0) & (tot_b >= 0), tot_b - src_b, dst_b)
    src_p = np.where((src_p < 0) & (dst_p >= 0) & (tot_p >= 0), tot_p - dst_p, src_p)
    dst_p = np.where((dst_p < 0) & (src_p >= 0) & (tot_p >= 0), tot_p - src_p, dst_p)
    if link_header:
        # bytes on the wire -> IP bytes, where the direction's packet count is known
        src_b = np.where((src_b >= 0) & (src_p >= 0), np.maximum(src_b - link_header * src_p, 0),
                         src_b)
        dst_b = np.where((dst_b >= 0) & (dst_p >= 0), np.maximum(dst_b - link_header * dst_p, 0),
                         dst_b)
    state_raw = col("State")
    if state_raw is not None:
        state, tcp_flags, bits = _map_state(state_raw, proto, dir_, src_p, dst_p, dst_b)
    else:
        state, tcp_flags = pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
        bits = np.full(n, -1, np.int64)
    label = col("Label")
    if label is not None:
        label = pc.utf8_trim_whitespace(label.cast(pa.string()))
        label = pc.if_else(pc.equal(label, ""), pa.scalar(None, pa.string()), label)

    def arr(x: np.ndarray) -> pa.Array:
        return pa.array(x, pa.int64(), mask=x < 0)

    cols = {
        "ts": ts, "duration": dur, "src_ip": col("SrcAddr"), "dst_ip": col("DstAddr"),
        "src_port": sp, "dst_port": dp, "proto": proto, "state": state, "tcp_flags": tcp_flags,
        "src_bytes": arr(src_b), "dst_bytes": arr(dst_b), "src_pkts": arr(src_p),
        "dst_pkts": arr(dst_p), "label": label,
    }
    batch = canonical_table(cols, n=n, lines=nos, path=path, raw_lines=lines,
                            problems=block_problems(*bads))
    batch.rejects = sorted(d.rejects + batch.rejects, key=lambda r: r.line)
    batch.records += len(d.rejects)
    # stitching aux: the record's own flags (flag pairs: the source half), its end time
    kept_bits, kept_end = aux_for(batch.table, nos, bits, end_times_us(ts, dur))
    return batch, kept_bits, kept_end, skipped


def read_argus(path: str | os.PathLike[str], *, block_bytes: int = 64 << 20,
               progress: ProgressFn | None = None, link_header: int = 14,
               stitch: bool = True, stitch_window: float = DEFAULT_WINDOW_S
               ) -> Iterator[FlowBatch]:
    """Read Argus ``ra`` CSV/TSV or CTU-13 binetflow files as canonical flow batches."""
    path = checked_path(path, sniff_argus, "Argus CSV (first line is not a header naming "
                                           "SrcAddr and DstAddr)")
    stitcher = Stitcher(window_s=stitch_window if stitch else -1e9)
    segments = pipelined_segments(
        path, block_bytes, progress,
        is_header=lambda ls: header_mask(ls, "SrcAddr", "DstAddr"))

    def blocks() -> Iterator[Converted]:
        for seg in segments:
            if seg.header is None:
                yield orphan_lines(path, seg, "line before the Argus header")
                continue
            batch, bits, end_us, skipped = _convert(path, seg.lines, seg.line_nos,
                                                    _names(seg.header), _separator(seg.header),
                                                    link_header)
            yield batch, bits, end_us, {"skipped_non_ip": skipped}

    yield from stitched_batches(path, blocks(), stitcher)
