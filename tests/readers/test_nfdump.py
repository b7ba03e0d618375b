"""nfdump CSV reader and the stitching of one-direction records."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from pathlib import Path
from typing import Any

import pytest

from graphflow.errors import InputFormatError
from ingest import detect_format
from ingest.nfdump import CLASSIC_FIELDS
from tests.conftest import DATASETS
from tests.readers.conftest import PCAP, make_nfdump, read_all, run

SHARED = DATASETS / "nfdump" / "slips-test1.nfdump.csv"
NAMED = ["firstSeen", "lastSeen", "duration", "proto", "srcAddr", "srcPort", "dstAddr",
         "dstPort", "flags", "packets", "bytes"]


def classic_line(ts: float, te: float, sa: str, da: str, sp: int, dp: int, pr: str, flg: str,
                 pkts: int, byts: int) -> str:
    vals = dict.fromkeys(CLASSIC_FIELDS, "0")

    def fmt(t: float) -> str:
        return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    vals.update(ts=fmt(ts), te=fmt(te), td=f"{te - ts:.3f}", sa=sa, da=da, sp=str(sp),
                dp=str(dp), pr=pr, flg=flg, ipkt=str(pkts), ibyt=str(byts))
    return ",".join(vals[f] for f in CLASSIC_FIELDS)


def test_shared_file_stitches_syn_rst_pairs() -> None:
    assert detect_format(SHARED).name == "nfdump"
    b = read_all("nfdump", SHARED)
    assert not b.rejects
    t = b.table.to_pandas()
    assert len(t) + b.notes["stitched"] == 4593  # every record is in exactly one flow
    scan = t[(t.dst_ip == "147.32.82.62") & (t.dst_port == 902)]
    assert len(scan) > 1000
    # SYN answered by RST-ACK, except the last few SYNs whose answer is not in the file
    assert (scan.state == "REJ").mean() > 0.9
    assert ((scan.tcp_flags == "S_RA") == (scan.state == "REJ")).all()
    assert (scan[scan.state == "REJ"].dst_bytes == 40).all()


def test_without_stitching_records_stay_one_way() -> None:
    b = read_all("nfdump", SHARED, stitch=False)
    assert b.table.num_rows == 4593 and b.notes.get("stitched", 0) == 0
    t = b.table.to_pandas()
    assert (t.dst_bytes == 0).all()
    syn = t[t.tcp_flags == "S_"]
    assert (syn.state == "S0").all()


def _connections(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    t0 = 1_700_000_000
    for i in range(n):
        kind = rnd.choice(["sf", "s0", "rej", "udp2", "udp1", "icmp2"])
        ts = t0 + i * 0.37 + rnd.random()
        c = {"kind": kind, "ts": ts, "te": ts + rnd.choice([0, 0.2, 3.0]),
             "sa": f"10.{rnd.randrange(4)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
             "da": f"192.0.2.{rnd.randrange(1, 60)}" if i % 5 else f"2001:db8::{i:x}",
             "sp": rnd.randrange(32768, 61000), "dp": rnd.choice([22, 80, 443, 53, 8080]),
             "fb": rnd.randrange(40, 5000), "fp": rnd.randrange(1, 20),
             "rb": rnd.randrange(40, 5000), "rp": rnd.randrange(1, 20)}
        if kind in ("s0", "udp1"):
            c["rb"] = c["rp"] = 0
        if kind == "rej":
            c.update(fp=1, fb=60, rp=1, rb=40)
        out.append(c)
    return out


def _records(conns: list[dict[str, Any]]) -> list[tuple[float, str]]:
    lines = []
    for c in conns:
        pr = {"sf": "TCP", "s0": "TCP", "rej": "TCP", "udp2": "UDP", "udp1": "UDP",
              "icmp2": "ICMP"}[c["kind"]]
        fflg, rflg = {"sf": ("...AP.SF", "...AP.SF"), "s0": ("......S.", ""),
                      "rej": ("......S.", "...A.R..")}.get(c["kind"], ("........", "........"))
        sp, dp = (c["sp"], c["dp"]) if pr != "ICMP" else (0, 2048)
        lines.append((c["ts"], classic_line(c["ts"], c["te"], c["sa"], c["da"], sp, dp, pr,
                                            fflg, c["fp"], c["fb"])))
        if c["rp"]:
            rts = c["ts"] + 0.05
            rsp, rdp = (dp, sp) if pr != "ICMP" else (0, 0)
            lines.append((rts, classic_line(rts, max(c["te"], rts), c["da"], c["sa"], rsp, rdp,
                                            pr, rflg, c["rp"], c["rb"])))
    return lines


def _cls(state: str) -> str:
    return {"SF": "est", "S1": "est", "S2": "est", "S3": "est", "RSTO": "est", "RSTR": "est",
            "S0": "attempt", "SH": "attempt", "RSTOS0": "attempt", "REJ": "rejected",
            "CON": "both", "INT": "one"}.get(state, state)


@pytest.mark.parametrize("block_bytes", [64 << 20, 4096], ids=["one-block", "many-blocks"])
def test_stitching_restores_the_original_connections(tmp_path: Path, block_bytes: int) -> None:
    conns = _connections(3000)
    recs = _records(conns)
    recs.sort(key=lambda r: r[0])  # exporters write in time order
    p = tmp_path / "uni.nfdump.csv"
    p.write_text(",".join(CLASSIC_FIELDS) + "\n" + "\n".join(r[1] for r in recs)
                 + "\nSummary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n1,2,3,4,5,6\n")
    b = read_all("nfdump", p, block_bytes=block_bytes)
    assert not b.rejects
    t = b.table.to_pandas()
    assert len(t) == len(conns)
    assert b.notes["stitched"] == len(recs) - len(conns)
    got = {(r.src_ip, r.dst_ip, r.src_port if r.proto != "icmp" else None): r
           for r in t.itertuples()}
    expect_state = {"sf": "est", "s0": "attempt", "rej": "rejected", "udp2": "both",
                    "udp1": "one", "icmp2": "both"}
    for c in conns:
        key = (c["sa"], str(ipaddress.ip_address(c["da"])),
               c["sp"] if c["kind"] != "icmp2" else None)
        r = got[key]
        assert (r.src_bytes, r.dst_bytes, r.src_pkts, r.dst_pkts) == (
            c["fb"], c["rb"], c["fp"], c["rp"]), c
        assert _cls(r.state) == expect_state[c["kind"]], (c, r.state)


def test_named_layout_summary_footer_and_concatenation(tmp_path: Path) -> None:
    rows = ["2024-05-01 10:00:00.123,2024-05-01 10:00:01.500,1.377,TCP,10.0.0.1,40000,"
            "10.0.0.2,443,...AP.SF,10,1500",
            "2024-05-01 10:00:00.200,2024-05-01 10:00:01.400,1.200,6,10.0.0.2,443,10.0.0.1,"
            "40000,...AP.SF,8,9000"]
    block = ",".join(NAMED) + "\n" + "\n".join(rows) + "\nSummary\nflows,bytes\n2,10500\n"
    p = tmp_path / "named.csv"
    p.write_text(block + block.replace("40000", "40001"))
    assert detect_format(p).name == "nfdump"
    b = read_all("nfdump", p)
    assert not b.rejects
    t = b.table.to_pandas().sort_values("src_port")
    assert list(t.src_port) == [40000, 40001]
    assert list(t.dst_bytes) == [9000, 9000] and list(t.state) == ["SF", "SF"]
    assert str(t.ts.iloc[0]) == "2024-05-01 10:00:00.123000+00:00"


def test_malformed_empty_and_not_nfdump(tmp_path: Path) -> None:
    good = classic_line(1_700_000_000, 1_700_000_001, "10.0.0.1", "10.0.0.2", 1, 2, "UDP",
                        "........", 1, 50)
    p = tmp_path / "bad.csv"
    p.write_text(",".join(CLASSIC_FIELDS) + "\n" + good + "\n" + good[:40] + "\n"
                 + good.replace("10.0.0.1", "10.0.0.x") + "\n"
                 + good.replace(",50,", ",-5,") + "\n")
    b = read_all("nfdump", p)
    assert b.table.num_rows == 1
    assert {r.line: r.reason.split(", got")[0] for r in b.rejects} == {
        3: "expected 48 fields separated by ','", 4: "missing or invalid source address",
        5: "negative src_bytes"}
    e = tmp_path / "empty.csv"
    e.write_text("")
    assert read_all("nfdump", e).table.num_rows == 0
    x = tmp_path / "x.csv"
    x.write_text("hello,world\n")
    with pytest.raises(InputFormatError, match="not nfdump"):
        read_all("nfdump", x)


def test_real_nfpcapd_output_headerless_too(tmp_path: Path) -> None:
    out = make_nfdump(PCAP, tmp_path / "x.nfdump.csv")
    assert detect_format(out).name == "nfdump"
    b = read_all("nfdump", out)
    assert not b.rejects and b.notes["stitched"] > 0
    t = b.table.to_pandas()
    assert t.src_ip.str.contains(":").any()  # IPv6 flows
    q = tmp_path / "q.nfdump.csv"
    run(["nfdump", "-R", str(out.parent / "x.nfdump.nfcapd"), "-q", "-o", "csv"], q)
    assert detect_format(q).name == "nfdump"
    bq = read_all("nfdump", q)
    assert not bq.rejects and bq.table.num_rows == len(t)
