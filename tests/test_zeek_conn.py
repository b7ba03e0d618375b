"""The Zeek conn.log reader: header variants, TSV/JSON parity, gzip, malformed lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from graphflow.errors import InputFormatError
from graphflow.schema import FLOW_FIELDS
from ingest.base import NATIVE_ID
from ingest.zeek_conn import read_zeek_conn
from tests.conftest import DATASETS, FLOWS, ZEEK_FIELDS, zeek_json, zeek_tsv


def read_all(path: Path, block_bytes: int = 64 << 20):
    batches = list(read_zeek_conn(path, block_bytes=block_bytes))
    table = pa.concat_tables([b.table for b in batches])
    rejects = [r for b in batches for r in b.rejects]
    records = sum(b.records for b in batches)
    return table, rejects, records


def test_output_matches_canonical_schema_exactly(conn_log: Path) -> None:
    table, _, _ = read_all(conn_log)
    expected = [(f.name, f.type) for f in FLOW_FIELDS if f.name != "flow_key"]
    assert [(f.name, f.type) for f in table.schema][:-1] == expected
    assert table.schema.names[-1] == NATIVE_ID


def test_fields_are_mapped(conn_log: Path) -> None:
    table, rejects, records = read_all(conn_log)
    assert (table.num_rows, rejects, records) == (5, [], 5)
    rows = table.to_pylist()
    first = rows[0]
    assert first["src_ip"] == "10.10.1.5" and first["dst_port"] == 22
    assert first["src_bytes"] == 1520 and first["dst_bytes"] == 2624  # IP-level bytes
    assert first["state"] == "SF" and first["tcp_flags"] == "ShADadFf"
    assert first["ts"].isoformat() == "2026-03-02T08:00:00.000001+00:00"
    assert first["source_line"] == 9  # 8 header lines
    s0 = rows[1]
    assert s0["duration"] is None and s0["service"] is None  # '-' is unset
    assert rows[3]["src_ip"] == "2001:db8::5" and rows[3]["proto"] == "udp"
    icmp = rows[4]
    assert icmp["proto"] == "icmp" and icmp["src_port"] is None and icmp["dst_port"] is None


def test_any_column_order_and_extra_columns(tmp_path: Path, conn_log: Path) -> None:
    fields = list(reversed(ZEEK_FIELDS)) + ["extra_col"]
    rows = [dict(r, extra_col="x") for r in FLOWS]
    p = tmp_path / "reordered.log"
    p.write_text(zeek_tsv(rows, fields))
    a, _, _ = read_all(conn_log)
    b, _, _ = read_all(p)
    drop = ["source_file", "source_line"]
    assert a.drop_columns(drop).equals(b.drop_columns(drop))


def test_minimal_header_without_optional_columns(tmp_path: Path) -> None:
    fields = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "orig_bytes",
              "resp_bytes"]
    p = tmp_path / "min.log"
    p.write_text(zeek_tsv(FLOWS, fields))
    table, rejects, _ = read_all(p)
    assert table.num_rows == 5 and not rejects
    # without *_ip_bytes the payload counters are used
    assert table.column("src_bytes").to_pylist()[0] == 1000
    assert table.column(NATIVE_ID).null_count == 5


def test_missing_required_field_is_one_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.log"
    p.write_text(zeek_tsv(FLOWS, ["ts", "id.orig_h", "id.resp_h"]))
    with pytest.raises(InputFormatError, match=r"bad.log:\d+: #fields lacks proto"):
        read_all(p)


def test_not_a_conn_log(tmp_path: Path) -> None:
    p = tmp_path / "dns.log"
    p.write_text("#separator \\x09\n#path\tdns\n#fields\tts\tuid\tquery\n1.0\tC1\tx.org\n")
    with pytest.raises(InputFormatError, match="not a Zeek conn.log"):
        read_all(p)


def test_tsv_json_parity(tmp_path: Path, conn_log: Path) -> None:
    j = tmp_path / "conn.json"
    j.write_text(zeek_json(FLOWS))
    a, _, _ = read_all(conn_log)
    b, _, _ = read_all(j)
    drop = ["source_file", "source_line"]
    assert a.drop_columns(drop).to_pylist() == b.drop_columns(drop).to_pylist()
    assert b.column("source_line").to_pylist() == [1, 2, 3, 4, 5]


def test_json_iso_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "iso.json"
    p.write_text('{"ts":"2026-03-02T08:00:00.000001Z","uid":"C1","id.orig_h":"10.0.0.1",'
                 '"id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp"}\n')
    table, rejects, _ = read_all(p)
    assert not rejects
    assert table.column("ts")[0].as_py().isoformat() == "2026-03-02T08:00:00.000001+00:00"


def test_gzip_by_content(tmp_path: Path, conn_log: Path) -> None:
    p = tmp_path / "conn.log.gz"
    p.write_bytes(gzip.compress(conn_log.read_bytes()))
    a, _, _ = read_all(conn_log)
    b, _, _ = read_all(p)
    assert a.drop_columns(["source_file"]).equals(b.drop_columns(["source_file"]))


@pytest.mark.parametrize("block_bytes", [64, 300, 1 << 20])
def test_malformed_lines_are_rejected_with_line_numbers(tmp_path: Path,
                                                        block_bytes: int) -> None:
    text = zeek_tsv(FLOWS).splitlines()
    # line 10: truncated; line 12: bad number; insert a blank line and a bad address
    text[9] = "\t".join(text[9].split("\t")[:5])
    parts = text[11].split("\t")
    parts[9] = "12x"
    text[11] = "\t".join(parts)
    bad_ip = dict(FLOWS[0], **{"id.orig_h": "10.0.0.999"})
    text.insert(13, zeek_tsv([bad_ip]).splitlines()[8])
    text.insert(14, "")
    p = tmp_path / "bad.log"
    p.write_text("\n".join(text) + "\n")
    table, rejects, records = read_all(p, block_bytes)
    got = {(r.line, r.reason.split(":")[0]) for r in rejects}
    assert {line for line, _ in got} == {10, 12, 14, 15}
    reasons = {r.line: r.reason for r in rejects}
    assert reasons[10] == "expected 21 tab-separated fields, got 5"
    assert "orig_bytes" in reasons[12]
    assert "source address" in reasons[14]
    assert reasons[15] == "empty line"
    assert table.num_rows == 3 and records == 7
    assert sorted(table.column("source_line").to_pylist()) == [9, 11, 13]
    # the rejected line is kept verbatim
    assert next(r for r in rejects if r.line == 10).text == text[9]


def test_headers_repeated_mid_file(tmp_path: Path) -> None:
    """Concatenated logs: a second header may change the column order."""
    first = zeek_tsv(FLOWS[:2], close=False)
    second = zeek_tsv(FLOWS[2:], list(reversed(ZEEK_FIELDS)))
    p = tmp_path / "cat.log"
    p.write_text(first + second)
    table, rejects, records = read_all(p, block_bytes=256)
    assert table.num_rows == 5 and not rejects and records == 5
    assert table.column("dst_port").to_pylist()[:4] == [22, 23, 23, 53]


def test_labels_are_kept(tmp_path: Path) -> None:
    fields = [*ZEEK_FIELDS, "label", "detailed-label"]
    rows = [dict(FLOWS[0], label="Malicious", **{"detailed-label": "PartOfAHorizontalPortScan"}),
            dict(FLOWS[1], label="Benign", **{"detailed-label": "-"})]
    p = tmp_path / "labelled.log"
    p.write_text(zeek_tsv(rows, fields))
    table, _, _ = read_all(p)
    assert table.column("label").to_pylist() == ["Malicious/PartOfAHorizontalPortScan", "Benign"]


@pytest.mark.skipif(not DATASETS.exists(), reason="shared datasets not present")
@pytest.mark.parametrize("name", sorted(p.name for p in (DATASETS / "zeek").glob("*"))
                         if DATASETS.exists() else [])
def test_real_zeek_files(name: str) -> None:
    path = DATASETS / "zeek" / name
    table, rejects, records = read_all(path)
    data_lines = sum(1 for line in path.read_text().splitlines() if not line.startswith("#"))
    assert records == data_lines
    assert table.num_rows == data_lines - len(rejects)
    if name == "slips-test10-mixed.conn.log":
        assert [(r.line, r.text) for r in rejects] == [(1, "\t#separator \\x09")]
    else:
        assert rejects == []


@pytest.mark.parametrize("block_bytes", [1024, 1 << 20])
def test_line_longer_than_the_read_buffer(tmp_path: Path, block_bytes: int) -> None:
    """A line longer than a block and the buffer's spare room (64 KiB) is read whole, and
    the lines after it keep their numbers (the reader reuses one buffer for every block)."""
    long_history = "ShADadFf" * 20_000  # 160 KB
    rows = [dict(FLOWS[0], uid=f"CL{i:016d}") for i in range(5)]
    rows[2]["history"] = long_history
    p = tmp_path / "long.log"
    p.write_text(zeek_tsv(rows))
    table, rejects, records = read_all(p, block_bytes)
    assert not rejects and records == 5
    assert table.column("source_line").to_pylist() == [9, 10, 11, 12, 13]
    assert table.column("tcp_flags").to_pylist()[2] == long_history
    assert len(set(table.column("tcp_flags").to_pylist())) == 2
