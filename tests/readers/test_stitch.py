"""The stitcher on blocks that mix biflow records with one-way ones."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from ingest import base
from ingest.base import empty_batch
from ingest.stitch import END, FLAGS, Stitcher

SYN, ACK, RST = 0x02, 0x10, 0x04
T0 = 1_700_000_000_000_000  # µs


def _block(rows: list[dict[str, Any]]) -> pa.Table:
    """Canonical rows (missing fields null) plus the stitcher's auxiliary columns."""
    schema = empty_batch("x").table.schema
    full = []
    for i, r in enumerate(rows):
        row: dict[str, Any] = {f.name: None for f in schema}
        row.update(proto="tcp", source_file="x", source_line=i + 1, duration=0.0)
        row.update({k: v for k, v in r.items() if k not in ("flags", "end")})
        row["ts"] = pa.scalar(row["ts"], pa.timestamp("us", tz="UTC"))
        full.append(row)
    t = pa.Table.from_pylist(full, schema=schema)
    return t.append_column(FLAGS, pa.array([r["flags"] for r in rows], pa.int64())) \
        .append_column(END, pa.array([r.get("end", r["ts"]) for r in rows], pa.int64()))


def _one_way(ts: int, src: str, sp: int, dst: str, dp: int, flags: int, by: int,
             pk: int) -> dict[str, Any]:
    return dict(ts=ts, src_ip=src, src_port=sp, dst_ip=dst, dst_port=dp, flags=flags,
                src_bytes=by, src_pkts=pk, dst_bytes=0, dst_pkts=0)


def _biflow(ts: int, src: str, dst: str, sp: int) -> dict[str, Any]:
    return dict(ts=ts, src_ip=src, src_port=sp, dst_ip=dst, dst_port=443, flags=-1,
                src_bytes=500, src_pkts=5, dst_bytes=9000, dst_pkts=7, state="SF",
                tcp_flags="ShADadfF")


def test_biflows_pass_untouched_and_halves_join_around_them() -> None:
    rows = [
        _biflow(T0, "10.0.0.9", "192.0.2.1", 50000),
        _one_way(T0 + 10, "10.0.0.1", 40000, "192.0.2.2", 22, SYN | ACK, 300, 4),
        _biflow(T0 + 20, "10.0.0.8", "192.0.2.1", 50001),
        _one_way(T0 + 30, "192.0.2.2", 22, "10.0.0.1", 40000, SYN | ACK, 4000, 5),
        _one_way(T0 + 40, "10.0.0.5", 40001, "192.0.2.3", 23, SYN, 60, 1),
        _one_way(T0 + 50, "192.0.2.3", 23, "10.0.0.5", 40001, RST | ACK, 40, 1),
        _biflow(T0 + 5, "10.0.0.7", "192.0.2.1", 50002),  # out of time order
    ]
    st = Stitcher(window_s=60)
    out = st.push(_block(rows), final=True).to_pylist()
    assert st.stitched == 2
    # start-time order; the biflows are exactly what came in
    assert [r["source_line"] for r in out] == [1, 7, 2, 3, 5]
    for r in out:
        if r["source_line"] in (1, 3, 7):
            assert (r["state"], r["tcp_flags"], r["dst_bytes"], r["dst_pkts"]) == (
                "SF", "ShADadfF", 9000, 7)
    ssh = next(r for r in out if r["source_line"] == 2)
    assert (ssh["src_ip"], ssh["dst_port"], ssh["dst_bytes"], ssh["dst_pkts"]) == (
        "10.0.0.1", 22, 4000, 5)
    assert ssh["state"] == "S1" and ssh["tcp_flags"] == "SA_SA"
    rej = next(r for r in out if r["source_line"] == 5)
    assert (rej["state"], rej["dst_bytes"], rej["tcp_flags"]) == ("REJ", 40, "S_RA")


def test_one_way_halves_meet_across_blocks_with_biflows_around() -> None:
    st = Stitcher(window_s=60)
    first = st.push(_block([
        _biflow(T0, "10.0.0.9", "192.0.2.1", 50000),
        _one_way(T0 + 100, "10.0.0.1", 40000, "192.0.2.2", 22, SYN, 60, 1),
    ]))
    second = st.push(_block([
        _one_way(T0 + 200, "192.0.2.2", 22, "10.0.0.1", 40000, RST | ACK, 40, 1),
        _biflow(T0 + 300, "10.0.0.8", "192.0.2.1", 50001),
    ]), final=True)
    # the open one-way record waited for the next block, the biflow did not
    assert first.num_rows == 1 and first.column("dst_bytes").to_pylist() == [9000]
    got = second.to_pylist()
    assert st.stitched == 1
    assert [(r["src_ip"], r["state"], r["dst_bytes"]) for r in got] == [
        ("10.0.0.1", "REJ", 40), ("10.0.0.8", "SF", 9000)]


def _sensor_blocks() -> list[pa.Table]:
    """Time-ordered blocks of a biflow sensor: biflows, one-way records that join nothing,
    and one still open at a block's end whose other half comes in the next block."""
    rows = []
    for i in range(40):
        rows.append(_biflow(T0 + i * 10_000_000, f"10.0.1.{i % 7}", "192.0.2.1", 50000 + i))
        if i % 5 == 0:  # a scan probe: SYN, nothing back
            rows.append(_one_way(T0 + i * 10_000_000 + 1, "10.0.0.66", 41000 + i,
                                 f"192.0.2.{i}", 22, SYN, 60, 1))
    rows.append(_one_way(T0 + 399_000_000, "10.0.0.1", 40000, "192.0.2.2", 25, SYN, 60, 1))
    first = _block(rows)
    second = _block([
        _one_way(T0 + 399_500_000, "192.0.2.2", 25, "10.0.0.1", 40000, SYN | ACK, 60, 1),
        _biflow(T0 + 400_000_000, "10.0.0.8", "192.0.2.1", 50001)])
    return [first, second]


def _run(blocks: list[pa.Table]) -> tuple[list[list[dict[str, Any]]], int]:
    st = Stitcher(window_s=60)
    outs = [st.push(b) for b in blocks] + [st.push(blocks[0].slice(0, 0), final=True)]
    return [o.to_pylist() for o in outs], st.stitched


def test_unjoined_block_is_cut_before_its_open_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # the block's clock from its last two records, as the last 64 of a real block of
    # thousands are: at its end (the whole of this 49-record block would put it mid-way)
    monkeypatch.setattr(base, "CLOCK_ROWS", 2)
    fast, fast_joined = _run(_sensor_blocks())
    # the first block goes out up to its first open one-way record; the rest waits
    lines = [r["source_line"] for r in fast[0]]
    assert lines == sorted(lines) and len(lines) < 49
    probes = [r for r in fast[0] if r["src_ip"] == "10.0.0.66"]
    assert probes and all(r["state"] == "S0" and r["tcp_flags"] == "S_" for r in probes)
    assert fast_joined == 1
    smtp = [r for out in fast for r in out if r["dst_port"] == 25 or r["src_port"] == 25]
    assert len(smtp) == 1 and smtp[0]["state"] == "S1" and smtp[0]["dst_pkts"] == 1
    # the general path (a take over the whole block) gives the same flows
    monkeypatch.setattr(Stitcher, "_unjoined", lambda *a: None)
    slow, slow_joined = _run(_sensor_blocks())
    key = sorted(str(sorted(r.items())) for out in fast for r in out)
    assert key == sorted(str(sorted(r.items())) for out in slow for r in out)
    assert slow_joined == fast_joined
    assert len(slow[0]) > len(fast[0])  # the general path keeps back only open records
