"""Real files with bytes mangled at random: every reader returns flows and rejects (with file
and line), never an exception from its parsing."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import ingest
from graphflow.errors import InputFormatError

D = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FILES = [("argus", D / "argus" / "slips-test2-malicious.binetflow"),
         ("nfdump", D / "nfdump" / "slips-test1.nfdump.csv"),
         ("tshark", D / "tshark" / "slips-test7-hide-and-seek-short.tshark.csv"),
         ("vast", D / "vast" / "vast2013-mc3-nf-week2-sample.csv"),
         ("zeek", D / "zeek" / "slips-test10-mixed.conn.log")]
# what breaks parsers: quotes, carriage returns, separators, invalid UTF-8, numbers too big
# (and digits and letters that turn a date into none: month 00, a seventh decimal, an hour 30)
TOKENS = [b'"', b"\r", b",", b"\t", b"\xff\xfe", b"\xc3\xa9", b"-", b".", b" ", b"", b"1e9",
          b"99999999999999999999", b"nan", b"\n", b"#", b"0", b"00", b"3", b"x", b":"]


def _mangled(path: Path, rng: random.Random, least: int, most: int, out: Path) -> Path:
    """``path`` with ``least``-``most`` tokens of TOKENS written over its data lines."""
    head, *body = path.read_bytes().split(b"\n")
    for _ in range(rng.randint(least, most)):
        i = rng.randrange(len(body))
        if body[i]:
            j = rng.randrange(len(body[i]) + 1)
            body[i] = body[i][:j] + rng.choice(TOKENS) + body[i][j + rng.randint(0, 3):]
    out.write_bytes(b"\n".join([head, *body]))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_mangled_files_give_flows_and_rejects(seed: int, tmp_path: Path) -> None:
    fmt, path = FILES[seed % len(FILES)]
    mangled = _mangled(path, random.Random(seed), 1, 20, tmp_path / f"mangled-{seed}")
    try:
        batches = list(ingest.read_file(ingest.get_reader(fmt), mangled))
    except InputFormatError:  # the file as a whole (its header mangled): one clear error
        return
    flows = sum(b.table.num_rows for b in batches)
    rejects = [r for b in batches for r in b.rejects]
    assert flows > 0
    assert all(r.path == str(mangled) and r.line > 0 for r in rejects)


def test_a_number_too_big_for_its_column_is_a_reject(tmp_path: Path) -> None:
    lines = ["StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes\n"]
    row = "2023-01-01 00:00:{:02d}.5,0.1,tcp,10.0.0.1,4000{},->,10.0.0.2,80,CON,2,{}\n"
    lines += [row.format(i % 60, i % 10, 200) for i in range(300)]
    lines[100] = row.format(1, 1, "99999999999999999999")
    f = tmp_path / "big.binetflow"
    f.write_text("".join(lines))
    batches = list(ingest.read_file(ingest.get_reader("argus"), f))
    rejects = [r for b in batches for r in b.rejects]
    assert [(r.line, r.reason) for r in rejects] == [(101, "TotBytes: not a number")]
    assert sum(b.table.num_rows for b in batches) == 299


@pytest.mark.parametrize("fmt,head,row,bad", [
    ("argus", "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes",
     "2023/01/{:02d} 00:00:01.5,0.1,tcp,10.0.0.1,4000,->,10.0.0.2,80,CON,2,200",
     ["2023/00/04 00:00:01.5", "2023/02/30 00:00:01.5", "2023/01/04 30:00:01.5",
      "2023/01/04 00:00:01.1234567"]),
    ("nfdump", "ts,te,td,sa,da,sp,dp,pr,flg,ipkt,ibyt,opkt,obyt",
     "2023-01-{:02d} 00:00:01.500,2023-01-01 00:00:01.600,0.100,10.0.0.1,10.0.0.2,4000,80,"
     "TCP,....S.,1,60,0,0",
     ["2023-00-04 00:00:01.500", "2023-02-30 00:00:01.500", "2023-01-04 30:00:01.500"]),
])
def test_a_date_that_does_not_exist_is_a_reject(fmt: str, head: str, row: str, bad: list[str],
                                                 tmp_path: Path) -> None:
    # the form of a date-time, but no such moment: Arrow refuses the whole column for it
    lines = [head] + [row.format(1 + i % 28) for i in range(200)]
    for k, text in enumerate(bad):
        lines[10 + 20 * k] = text + row.format(1)[len(text):]
    f = tmp_path / f"dates.{fmt}"
    f.write_text("\n".join(lines) + "\n")
    batches = list(ingest.read_file(ingest.get_reader(fmt), f))
    assert sorted(r.line for b in batches for r in b.rejects) == [
        11 + 20 * k for k in range(len(bad))]
    assert sum(b.table.num_rows for b in batches) == 200 - len(bad)


@pytest.mark.parametrize("seed", range(20))
def test_mangled_captures_give_flows_or_one_clear_error(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    data = bytearray((D / "pcap" / "slips-test7-hide-and-seek-short.pcap").read_bytes())
    for _ in range(rng.randint(1, 30)):  # past the file header: packet headers and bodies
        data[rng.randrange(24, len(data))] = rng.randrange(256)
    if seed % 3 == 0:
        del data[rng.randrange(24, len(data)):]
    mangled = tmp_path / f"mangled-{seed}.pcap"
    mangled.write_bytes(bytes(data))
    try:  # the packets libpcap can still read become flows; nothing else may be raised
        for batch in ingest.read_file(ingest.get_reader("pcap"), mangled):
            assert "src_ip" in batch.table.column_names
    except InputFormatError:
        return


def test_a_packet_time_out_of_range_is_a_rejected_line(tmp_path: Path) -> None:
    src = D / "tshark" / "slips-test7-hide-and-seek-short.tshark.csv"
    head, *body = src.read_text().splitlines()
    cells = body[10].split(",")
    cells[1] = '"1520628999999999999999.5"'  # frame.time_epoch: parses, but not a date
    body[10] = ",".join(cells)
    f = tmp_path / "t.tshark.csv"
    f.write_text("\n".join([head, *body]) + "\n")
    rejects = [r for b in ingest.read_file(ingest.get_reader("tshark"), f) for r in b.rejects]
    assert [(r.line, r.reason) for r in rejects] == [(12, "packet time out of range (1970-2100)")]
    assert rejects[0].text == body[10]


@pytest.mark.parametrize("seed", range(25))
def test_a_mangled_file_reads_the_same_in_any_block_size(seed: int, tmp_path: Path) -> None:
    # a line is read or rejected (and why) by what it holds, not by the block it falls in:
    # the fast paths (native parser, Arrow's reader on a whole block, a whole-column time
    # cast) take a block only when they would read every line as the line-by-line checks do
    fmt, path = FILES[seed % len(FILES)]
    mangled = _mangled(path, random.Random(1000 + seed), 5, 30, tmp_path / f"mangled-{seed}")

    def read(block_bytes: int) -> tuple[list[str], list[tuple[int, str]]]:
        try:
            batches = list(ingest.read_file(ingest.get_reader(fmt), mangled,
                                            block_bytes=block_bytes))
        except InputFormatError as exc:
            return [str(exc)], []
        rows = sorted(repr(sorted((k, str(v)) for k, v in r.items() if k != "flow_key"))
                      for b in batches for r in b.table.to_pylist())
        return rows, sorted((r.line, r.reason) for b in batches for r in b.rejects)

    assert read(64 << 20) == read(20000)


@pytest.mark.parametrize("fmt,head,row,odd,garbage", [
    # a time Arrow's cast takes though it has no seconds; an empty start time
    ("nfdump", "ts,te,td,sa,da,sp,dp,pr,flg,ipkt,ibyt,opkt,obyt",
     "2023-01-01 00:00:{:02d}.500,2023-01-01 00:01:00.000,0.100,10.0.0.1,10.0.0.2,{},80,TCP,"
     "....S.,1,60,0,0", "2023-01-01 00:07", "2023-13-01 00:00:01.500"),
    ("argus", "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes",
     "2023/01/01 00:00:{:02d}.5,0.1,tcp,10.0.0.1,{},->,10.0.0.2,80,CON,2,200", "",
     "2023/13/01 00:00:01.5"),
])
def test_a_time_reads_the_same_beside_a_bad_one(fmt: str, head: str, row: str, odd: str,
                                                garbage: str, tmp_path: Path) -> None:
    # the whole-column cast takes a block only when it reads every value as the row-by-row
    # check does: an odd value gets the same answer (and reason) with or without a bad
    # neighbour in its block
    def read(with_garbage: bool) -> list[tuple[int, str]]:
        def rest(port: int) -> str:  # a row's fields after its start time
            text = row.format(0, port)
            return text[text.index(","):]

        lines = [head] + [row.format(i % 60, 4000 + i) for i in range(100)]
        lines[50] = odd + rest(5000)
        if with_garbage:
            lines[80] = garbage + rest(5001)
        f = tmp_path / f"t-{with_garbage}.{fmt}"
        f.write_text("\n".join(lines) + "\n")
        batches = list(ingest.read_file(ingest.get_reader(fmt), f))
        return sorted((r.line, r.reason) for b in batches for r in b.rejects if r.line != 81)

    assert read(False) == read(True)
