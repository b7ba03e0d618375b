"""Argus / CTU-13 binetflow reader."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from graphflow.errors import InputFormatError
from ingest import detect_format
from tests.conftest import DATASETS
from tests.readers.conftest import PCAP, make_argus, need, read_all, run

ARGUS = DATASETS / "argus"
HEADER = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,"\
         "SrcBytes,Label"


@pytest.mark.parametrize("path", sorted(ARGUS.glob("*.binetflow")), ids=lambda p: p.name)
def test_every_shared_file_loads_and_is_detected(path: Path) -> None:
    assert detect_format(path).name == "argus"
    b = read_all("argus", path)
    assert not b.rejects
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t" if "test5" in path.name else ","))[1:]
    non_ip = sum(1 for r in rows if r[2] in ("man", "arp", "llc", "rarp"))
    assert b.table.num_rows == len(rows) - non_ip
    assert b.notes.get("skipped_non_ip", 0) == non_ip


@pytest.mark.parametrize("name", ["ctu13-scenario1-sample100.binetflow",
                                  "ctu13-scenario2-sample100.binetflow",
                                  "ctu13-scenario5-sample100.binetflow"])
def test_ctu13_botnet_labels_survive(name: str) -> None:
    path = ARGUS / name
    with open(path, newline="") as fh:
        expected = sum(1 for r in csv.DictReader(fh) if "Botnet" in (r["Label"] or ""))
    labels = read_all("argus", path).table.column("label").to_pylist()
    assert sum(1 for lab in labels if lab and "Botnet" in lab) == expected
    assert expected == 50


def test_flag_pair_states_and_counters(tmp_path: Path) -> None:
    p = tmp_path / "x.binetflow"
    p.write_text(HEADER + "\n"
                 "2011/08/10 09:59:05.351298,1.5,tcp,10.0.0.1,1025,   ->,10.0.0.2,80,S_RA,0,0,"
                 "2,120,60,flow=From-Botnet-V42-TCP\n"
                 "2011/08/10 09:59:06,0.5,tcp,10.0.0.1,1026,   ->,10.0.0.3,80,S_,0,0,1,60,60,"
                 "Background\n"
                 "2011/08/10 09:59:07,0.5,tcp,10.0.0.1,1027,  <?>,10.0.0.4,80,FSPA_FSPA,0,0,9,"
                 "900,300,Normal\n"
                 "2011/08/10 09:59:08,0.1,udp,2001:db8::1,5353,  <->,2001:db8::2,53,CON,0,0,2,"
                 "200,80,\n")
    t = sorted(read_all("argus", p, link_header=0).table.to_pylist(),
               key=lambda r: r["source_line"])
    assert [r["state"] for r in t] == ["REJ", "S0", "SF", "CON"]
    assert [r["tcp_flags"] for r in t] == ["S_RA", "S_", "FSPA_FSPA", None]
    assert t[0]["src_bytes"] == 60 and t[0]["dst_bytes"] == 60
    assert t[0]["ts"].isoformat() == "2011-08-10T09:59:05.351298+00:00"
    assert t[3]["src_ip"] == "2001:db8::1" and t[3]["dst_port"] == 53
    assert [r["label"] for r in t] == ["flow=From-Botnet-V42-TCP", "Background", "Normal", None]


def test_tab_variant_any_column_subset_and_repeated_header(tmp_path: Path) -> None:
    p = tmp_path / "tab.binetflow"
    head = "SrcAddr\tDstAddr\tProto\tStartTime\tDport\tSport\tState\tSrcPkts\tDstPkts"
    row = "10.0.0.1\t10.0.0.2\ttcp\t1520628556.5\t22\t40000\tREQ\t1\t0"
    p.write_text("\n".join([head, row, head, row.replace("40000", "40001")]) + "\n")
    b = read_all("argus", p)
    assert b.table.num_rows == 2 and not b.rejects
    assert b.table.column("state").to_pylist() == ["S0", "S0"]
    assert b.table.column("source_line").to_pylist() == [2, 4]


def test_malformed_lines_are_rejected_with_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "bad.binetflow"
    p.write_text(HEADER + "\n"
                 "2011/08/10 09:59:05,1.5,tcp,10.0.0.1,1025,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n"
                 "2011/08/10 09:59:05,1.5,tcp,10.0.0.1,1025,->,10.0.0.2\n"
                 "09:59:05.1,1.5,tcp,10.0.0.1,1025,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n"
                 "2011/08/10 09:59:05,1.5,tcp,10.0.0.999,1025,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n"
                 "2011/08/10 09:59:05,1.5,tcp,10.0.0.1,http,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n"
                 "2011/08/10 09:59:05,1.5,tcp,10.0.0.1,1025,->,10.0.0.2,80,S_RA,0,0,2,lots,60,x\n")
    b = read_all("argus", p)
    assert b.table.num_rows == 1
    assert b.records == 6
    lines = {r.line: r.reason for r in b.rejects}
    assert set(lines) == {3, 4, 5, 6, 7}
    assert "expected 15 fields" in lines[3]
    assert "ra -u" in lines[4]
    assert "source address" in lines[5]
    assert "Sport" in lines[6]
    assert "TotBytes" in lines[7]
    assert all(r.path == str(p) for r in b.rejects)


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    e = tmp_path / "empty.binetflow"
    e.write_text("")
    assert read_all("argus", e).table.num_rows == 0
    h = tmp_path / "header.binetflow"
    h.write_text(HEADER + "\n")
    assert detect_format(h).name == "argus"
    b = read_all("argus", h)
    assert (b.table.num_rows, b.records, b.rejects) == (0, 0, [])


def test_not_argus_is_one_error(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputFormatError, match="not Argus"):
        read_all("argus", p)


def test_real_ra_output_from_a_pcap(tmp_path: Path) -> None:
    """argus + ra turn the shared pcap into CSV; the reader takes it back."""
    out = make_argus(PCAP, tmp_path / "x.argus.csv")
    assert detect_format(out).name == "argus"
    b = read_all("argus", out)
    assert not b.rejects
    assert b.notes.get("skipped_non_ip", 0) >= 1  # the management record
    t = b.table.to_pandas()
    assert {"tcp", "udp", "icmp"} <= set(t.proto)
    assert t.src_ip.str.contains(":").any()  # IPv6
    ssh = t[(t.dst_port == 22) & (t.src_ip == "192.168.2.1")]
    assert ssh.src_bytes.sum() > 0 and ssh.dst_bytes.sum() > 0


def test_ra_default_time_of_day_is_rejected_with_advice(tmp_path: Path) -> None:
    need("argus", "ra")
    rec = tmp_path / "x.argus"
    run(["argus", "-r", str(PCAP), "-w", str(rec)])
    out = tmp_path / "tod.csv"
    run(["ra", "-r", str(rec), "-n", "-c", ",", "-s", "stime", "saddr", "daddr", "proto"], out)
    b = read_all("argus", out)
    assert b.table.num_rows == 0 and b.rejects
    assert all("ra -u" in r.reason for r in b.rejects)


@pytest.mark.parametrize("start", ["2300/04/05 14:00:28.263638", "9999/12/31 23:59:59"])
def test_a_start_time_centuries_ahead_is_a_reject(tmp_path: Path, start: str) -> None:
    # a year after 2255 is more microseconds than a double holds exactly: the checked cast to
    # seconds refused the whole column (a traceback on user data)
    p = tmp_path / "far.binetflow"
    p.write_text(HEADER + "\n"
                 "2011/08/10 09:59:05,1.5,tcp,10.0.0.1,1025,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n"
                 f"{start},1.5,tcp,10.0.0.1,1026,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n"
                 "2011/08/10 09:59:07,1.5,tcp,10.0.0.1,1027,->,10.0.0.2,80,S_RA,0,0,2,120,60,x\n")
    b = read_all("argus", p)
    assert b.table.num_rows == 2
    assert [(r.line, r.reason) for r in b.rejects] == [(3, "missing or invalid ts")]
