"""flow-tools ``flow-export -f2`` reader.

flow-tools is not packaged in Debian 12: these fixtures follow its documented output (the
``#:`` header of field names, then NetFlow v5 records; ``-m`` chooses the fields).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.errors import InputFormatError
from ingest import detect_format
from ingest.flowtools import FIELDS
from tests.readers.conftest import read_all

FULL = "#:" + ",".join(FIELDS)
# a SYN/SYN-ACK/FIN exchange: two records (one per direction), router uptime in ms
REC_A = ("1157476947,457000000,1029495428,212.88.128.35,7,1028,1029406775,1029407306,0,0,"
         "217.227.213.44,212.88.157.230,0.0.0.0,0,255,2740,80,6,0,27,0,0,9063,3320")
REC_B = ("1157476947,457000000,1029495428,212.88.128.35,5,3028,1029406776,1029407306,0,0,"
         "212.88.157.230,217.227.213.44,0.0.0.0,0,255,80,2740,6,0,27,0,0,3320,9063")


def test_full_mask_stitched_and_timed(tmp_path: Path) -> None:
    p = tmp_path / "x.flow-export"
    p.write_text(FULL + "\n" + REC_A + "\n" + REC_B + "\n")
    assert detect_format(p).name == "flowtools"
    b = read_all("flowtools", p)
    assert not b.rejects and b.notes["stitched"] == 1
    (r,) = b.table.to_pylist()
    # start = export time - (uptime at export - first) / 1000
    assert r["ts"].timestamp() == pytest.approx(1157476947.457 - 88.653, abs=1e-6)
    assert r["duration"] == pytest.approx(0.531)
    assert (r["src_ip"], r["src_port"], r["dst_port"]) == ("217.227.213.44", 2740, 80)
    assert (r["src_bytes"], r["dst_bytes"], r["src_pkts"], r["dst_pkts"]) == (1028, 3028, 7, 5)
    assert (r["state"], r["tcp_flags"]) == ("SF", "FSPA_FSPA")


def test_address_only_mask_uses_start(tmp_path: Path) -> None:
    p = tmp_path / "m3000.flow-export"
    p.write_text("#:srcaddr,dstaddr\n10.0.0.1,10.0.0.2\n10.0.0.2,10.0.0.1\n10.0.0.3,2001:db8::9\n")
    assert detect_format(p).name == "flowtools"
    b = read_all("flowtools", p, start=1_700_000_000)
    t = b.table.to_pylist()
    assert len(t) == 3 and b.notes["untimed"] == 3 and b.notes["stitched"] == 0
    assert {r["proto"] for r in t} == {"ip"}
    assert all(r["ts"].timestamp() == 1_700_000_000 for r in t)
    assert all(r["src_port"] is None for r in t)
    assert t[2]["dst_ip"] == "2001:db8::9"


def test_partial_mask_without_uptime(tmp_path: Path) -> None:
    p = tmp_path / "p.flow-export"
    p.write_text("#:unix_secs,srcaddr,dstaddr,srcport,dstport,prot,dpkts,doctets\n"
                 "1700000000,10.0.0.1,10.0.0.2,1234,53,17,1,70\n")
    (r,) = read_all("flowtools", p).table.to_pylist()
    assert r["ts"].timestamp() == 1_700_000_000 and r["proto"] == "udp" and r["state"] == "INT"


def test_malformed_comment_empty_and_wrong(tmp_path: Path) -> None:
    p = tmp_path / "bad.flow-export"
    p.write_text(FULL + "\n# a comment\n" + REC_A + "\n" + REC_A[:30] + "\n"
                 + REC_A.replace("217.227.213.44", "217.227.213") + "\n"
                 + REC_A.replace(",2740,80,6,", ",2740,80000,6,") + "\n")
    b = read_all("flowtools", p)
    assert b.table.num_rows == 1
    assert {r.line: r.reason.split(", got")[0] for r in b.rejects} == {
        4: "expected 24 fields separated by ','", 5: "missing or invalid source address",
        6: "dst_port out of range 0-65535"}
    e = tmp_path / "e.flow-export"
    e.write_text("")
    assert read_all("flowtools", e).table.num_rows == 0
    w = tmp_path / "w.flow-export"
    w.write_text("#:srcport,dstport\n1,2\n")
    with pytest.raises(InputFormatError, match="lacks dstaddr, srcaddr"):
        read_all("flowtools", w)
    x = tmp_path / "x.flow-export"
    x.write_text("#fields\tts\n")
    with pytest.raises(InputFormatError, match="not flow-export"):
        read_all("flowtools", x)
