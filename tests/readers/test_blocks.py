"""Block size does not change what a reader reads.

The two-stage readers (Argus, nfdump, flow-tools: parse | stitch; tshark: parse | aggregate)
read, parse and stitch in three threads that hand blocks on (``ingest.base.prefetched``): a
block handed on out of order, lost, or still pointing into a buffer the reader goes on using
would change what they read. (VAST holds its first blocks while it learns the service ports;
it is checked here as well.) Each file is read in one block and in 4 KB blocks (dozens to
hundreds of them, every batch kept until the end) and both readings must agree on every
flow, every reject (line, reason, text) and every count.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.base import iter_byte_blocks, iter_reused_blocks
from tests.conftest import DATASETS
from tests.readers.conftest import read_all
from tests.readers.test_flowtools import FULL, REC_A, REC_B


def _flowtools(tmp: Path) -> Path:
    """Both directions of 1,500 exchanges (flow-tools is not in Debian: documented format)."""
    lines = [FULL]
    for i in range(1500):
        port = str(2000 + i)
        for rec in (REC_A, REC_B):
            f = rec.split(",")
            f[15 if rec is REC_A else 16] = port
            f[6] = str(1029406775 + 10 * i)
            f[7] = str(1029407306 + 10 * i)
            lines.append(",".join(f))
    p = tmp / "x.flow-export"
    p.write_text("\n".join(lines) + "\n")
    return p


def _copy(src: Path) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / src.name
        p.write_bytes(src.read_bytes())
        return p
    return make


SOURCES = {
    "argus": _copy(DATASETS / "argus" / "slips-test2-malicious.binetflow"),
    "nfdump": _copy(DATASETS / "nfdump" / "slips-test1.nfdump.csv"),
    "tshark": _copy(DATASETS / "tshark" / "slips-test7-hide-and-seek-short.tshark.csv"),
    "flowtools": _flowtools,
    "vast": _copy(DATASETS / "vast" / "vast2013-mc3-nf-week2-sample.csv"),
}


_IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


def _spoil(path: Path) -> int:
    """After every 97th line a line of the wrong shape, after every 89th a copy of it with
    impossible addresses (the right shape: rejected by validation, whose reject text comes
    from the block's lines); never before the header. Returns how many."""
    lines = path.read_text().splitlines(keepends=True)
    out = [lines[0]]
    bad = 0
    for i, line in enumerate(lines[1:], start=1):
        out.append(line)
        if i % 97 == 0:
            out.append(f"not,a,record,{i}\n")
            bad += 1
        if i % 89 == 0 and _IPV4.search(line):
            out.append(_IPV4.sub("300.1.1.1", line))
            bad += 1
    path.write_text("".join(out))
    return bad


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([("source_line", "ascending"), ("ts", "ascending"),
                      ("src_ip", "ascending"), ("dst_ip", "ascending")])


@pytest.mark.parametrize("fmt", sorted(SOURCES))
def test_many_small_blocks_read_like_one(tmp_path: Path, fmt: str) -> None:
    path = SOURCES[fmt](tmp_path)
    bad = _spoil(path)
    assert path.stat().st_size > 25 * 4096  # many blocks
    one = read_all(fmt, path, block_bytes=64 << 20)
    many = read_all(fmt, path, block_bytes=4096)
    assert one.table.num_rows > 100
    assert len(one.rejects) >= bad
    assert _sorted(many.table).equals(_sorted(one.table))
    assert [(r.line, r.reason, r.text) for r in many.rejects] == [
        (r.line, r.reason, r.text) for r in one.rejects]
    assert (many.records, many.notes) == (one.records, one.notes)


#: a record's start time moved far ahead: (time field, text to find, its replacement)
_STRAY = {"nfdump": (0, "2018-", "2019-"), "tshark": (1, '"1520', '"1523')}


@pytest.mark.parametrize("fmt", sorted(_STRAY))
def test_a_record_stamped_far_ahead_reads_alike_in_any_block(tmp_path: Path, fmt: str) -> None:
    """One record in the middle a year (nfdump) or four weeks (tshark) ahead: what is still
    open at the end of its block is told by the block's clock, not by that stray time, so
    pairs and flows are the same in one block and in 4 KB blocks (they were not: 2,769 flows
    against 2,399 for nfdump, 825 against 330 for tshark)."""
    path = SOURCES[fmt](tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    field, old, new = _STRAY[fmt]
    i = len(lines) // 2
    values = lines[i].split(",")
    assert values[field].startswith(old)
    values[field] = new + values[field][len(old):]
    lines[i] = ",".join(values)
    path.write_text("".join(lines))
    one = read_all(fmt, path, block_bytes=64 << 20)
    many = read_all(fmt, path, block_bytes=4096)
    assert not one.rejects
    assert _sorted(many.table).equals(_sorted(one.table))
    assert (many.records, many.notes) == (one.records, one.notes)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 5, 50, 300]), max_size=30), st.booleans(),
       st.sampled_from([1, 3, 16, 64, 1000]))
def test_blocks_cut_whole_lines_any_block_size(lengths: list[int], final_newline: bool,
                                               block_bytes: int) -> None:
    """Fresh (not zeroed) and reused buffers alike: every block ends a line, together they are
    the file (a last line without its newline gets one), lines longer than a block included."""
    data = b"\n".join(b"x" * k for k in lengths) + (b"\n" if final_newline else b"")
    want = data if not data or data.endswith(b"\n") else data + b"\n"
    fresh = [bytes(b) for b in iter_byte_blocks(io.BytesIO(data), block_bytes)]
    reused = [bytes(b[:n]) for b, n in iter_reused_blocks(io.BytesIO(data), block_bytes)]
    assert b"".join(fresh) == want and b"".join(reused) == want
    assert all(b.endswith(b"\n") for b in fresh + reused)
