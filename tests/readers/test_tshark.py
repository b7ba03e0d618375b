"""tshark CSV reader (packets -> flows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.errors import InputFormatError
from ingest import detect_format
from tests.conftest import DATASETS
from tests.readers.conftest import ICMP_PCAP, PCAP, make_tshark, need, read_all, run

SHARED = DATASETS / "tshark" / "slips-test7-hide-and-seek-short.tshark.csv"
ISSUE_FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport",
                "udp.srcport", "udp.dstport", "ip.proto", "frame.len", "tcp.flags"]


def test_shared_file_matches_the_pcap_flows() -> None:
    assert detect_format(SHARED).name == "tshark"
    b = read_all("tshark", SHARED)
    assert not b.rejects
    pc_ = read_all("pcap", DATASETS / "pcap" / "slips-test7-hide-and-seek-short.pcap")
    assert b.table.num_rows == pc_.table.num_rows
    assert b.notes["packets"] + b.notes["skipped_non_ip"] == 2000


def test_issue_field_set_real_tshark(tmp_path: Path) -> None:
    out = make_tshark(PCAP, tmp_path / "x.tshark.csv", ISSUE_FIELDS)
    assert detect_format(out).name == "tshark"
    b = read_all("tshark", out)
    t = b.table.to_pandas()
    ssh = t[(t.dst_port == 22) & (t.proto == "tcp")]
    assert len(ssh) >= 1 and (ssh.src_ip == "192.168.2.1").all()
    scans = t[(t.proto == "tcp") & (t.src_ip == "192.168.2.16") & (t.dst_bytes == 0)]
    assert (scans.state == "S0").mean() > 0.9  # telnet scan SYNs with no answer
    # IPv6 packets have no ip.src/ip.proto in this field set: skipped, not rejected
    assert b.notes["skipped_non_ip"] > 0


def test_headerless_repeated_header_and_quotes(tmp_path: Path) -> None:
    out = make_tshark(PCAP, tmp_path / "h.csv", ISSUE_FIELDS)
    lines = out.read_text().splitlines()
    body = lines[1:]
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("\n".join(body) + "\n")
    assert detect_format(nohead).name == "tshark"
    a = read_all("tshark", nohead)
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join(lines + lines) + "\n")  # concatenated: header mid-file
    b = read_all("tshark", twice)
    assert not b.rejects and b.notes["packets"] == 2 * a.notes["packets"]
    q = make_tshark(PCAP, tmp_path / "q.csv", ISSUE_FIELDS, "-E", "quote=d")
    c = read_all("tshark", q)
    assert c.table.num_rows == a.table.num_rows


def test_reduced_field_set_without_time(tmp_path: Path) -> None:
    """``ipsrc,ipdst,dstporttcp,srcporttcp,len``: one flow per 5-tuple per file at --start."""
    need("tshark")
    raw = run(["tshark", "-r", str(PCAP), "-Y", "tcp", "-T", "fields", "-e", "ip.src", "-e",
               "ip.dst", "-e", "tcp.dstport", "-e", "tcp.srcport", "-e", "frame.len",
               "-E", "separator=,", "-E", "occurrence=f"])
    p = tmp_path / "reduced.csv"
    p.write_text("ipsrc,ipdst,dstporttcp,srcporttcp,len\n" + raw)
    assert detect_format(p).name == "tshark"
    b = read_all("tshark", p, start=1520628556.0)
    t = b.table.to_pandas()
    assert not b.rejects or all("transport" in r.reason for r in b.rejects)
    assert (t.ts.astype("int64") // 10**6 == 1520628556).all()
    keys = t[["src_ip", "dst_ip", "src_port", "dst_port"]].apply(
        lambda r: frozenset([(r.src_ip, r.src_port), (r.dst_ip, r.dst_port)]), axis=1)
    assert keys.is_unique  # one flow per 5-tuple (both directions together)
    ssh = t[(t.dst_port == 22) & (t.src_port == 51371)]
    assert len(ssh) == 1 and ssh.src_bytes.iloc[0] > 0 and ssh.dst_bytes.iloc[0] > 0
    default = read_all("tshark", p)
    assert (default.table.column("ts").cast("int64").to_pylist()[0]) == 0


def test_ipv6_icmp_malformed_empty(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("frame.time_epoch,ip.src,ip.dst,ipv6.src,ipv6.dst,ip.proto,ipv6.nxt,"
                 "tcp.srcport,tcp.dstport,frame.len,tcp.flags\n"
                 "1.0,,,2001:db8::1,2001:db8::2,,6,40000,80,74,0x0002\n"
                 "1.1,,,2001:db8::2,2001:db8::1,,6,80,40000,74,0x0012\n"
                 "1.2,10.0.0.1,10.0.0.2,,,1,,,,98,\n"
                 "oops\n"
                 "x,10.0.0.1,10.0.0.2,,,6,,1,2,60,0x0002\n"
                 "2.0,10.0.0.1,10.0.0.2,,,6,,1,99999,60,0x0002\n")
    b = read_all("tshark", p)
    t = sorted(b.table.to_pylist(), key=lambda r: r["source_line"])
    assert [(r["src_ip"], r["proto"], r["state"]) for r in t] == [
        ("2001:db8::1", "tcp", "S1"), ("10.0.0.1", "icmp", "INT")]
    assert t[0]["src_bytes"] == 60 and t[0]["dst_bytes"] == 60  # frame.len - 14
    assert {r.line for r in b.rejects} == {5, 6, 7}
    e = tmp_path / "e.csv"
    e.write_text("")
    assert read_all("tshark", e).table.num_rows == 0
    x = tmp_path / "x.csv"
    x.write_text("foo,bar\n1,2\n")
    with pytest.raises(InputFormatError, match="not tshark"):
        read_all("tshark", x)


def test_icmp_sweep(tmp_path: Path) -> None:
    out = make_tshark(ICMP_PCAP, tmp_path / "icmp.csv")
    t = read_all("tshark", out).table.to_pandas()
    assert (t.proto == "icmp").all() and (t.src_ip == "192.168.1.109").all()


def test_protocol_columns_read_differently_still_combine(tmp_path: Path) -> None:
    # ip.proto written as a name (text) beside ipv6.nxt numbers (read natively as int64):
    # the two columns are combined as text, and both packets are TCP
    p = tmp_path / "mixed.csv"
    p.write_text("frame.time_epoch,ip.src,ip.dst,ipv6.src,ipv6.dst,ip.proto,ipv6.nxt,"
                 "tcp.srcport,tcp.dstport,frame.len\n"
                 "1.0,10.0.0.1,10.0.0.2,,,tcp,,40000,80,74\n"
                 "1.1,,,2001:db8::1,2001:db8::2,,6,40001,80,74\n")
    b = read_all("tshark", p)
    assert sorted((r["src_ip"], r["proto"]) for r in b.table.to_pylist()) == [
        ("10.0.0.1", "tcp"), ("2001:db8::1", "tcp")]
    assert not b.rejects


def test_two_spellings_of_an_address_make_one_flow(tmp_path: Path) -> None:
    # the addresses are checked on the flows the packets make; a block where they are not all
    # canonical (two spellings of one host, an invalid one) is aggregated again from
    # normalised packets: one connection, one flow, and the bad line a reject at its number
    p = tmp_path / "spell.csv"
    rows = ["frame.time_epoch,ipv6.src,ipv6.dst,ip.proto,ipv6.nxt,tcp.srcport,tcp.dstport,"
            "frame.len,tcp.flags"]
    for i, (src, dst, sp, dp, fl) in enumerate([
            ("2001:DB8::1", "2001:db8::2", 40000, 80, "0x0002"),
            ("2001:db8::2", "2001:db8::1", 80, 40000, "0x0012"),
            ("2001:db8:0::1", "2001:db8::2", 40000, 80, "0x0010"),
            ("2001:db8::zz", "2001:db8::2", 40000, 80, "0x0010"),
            ("2001:db8::1", "2001:db8::2", 40000, 80, "0x0011")]):
        rows.append(f"{1.0 + i / 10},{src},{dst},,6,{sp},{dp},74,{fl}")
    p.write_text("\n".join(rows) + "\n")
    b = read_all("tshark", p)
    assert [(r["src_ip"], r["dst_ip"], r["src_pkts"], r["dst_pkts"], r["state"])
            for r in b.table.to_pylist()] == [("2001:db8::1", "2001:db8::2", 3, 1, "S2")]
    assert [(r.line, r.reason) for r in b.rejects] == [
        (5, "missing or invalid source address")]


@pytest.mark.parametrize("odd", ["250", "-5", "300", "0", "43"])
def test_protocol_numbers_read_natively_as_text_reads_them(
        tmp_path: Path, odd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # ip.proto read as numbers (the first row is one) must give the rows, rejects and protocol
    # names that reading it as text gives: extension headers, an unknown number, a negative
    # or out-of-range one
    from ingest import tshark
    p = tmp_path / "p.csv"
    rows = ["frame.time_epoch,ip.src,ip.dst,ip.proto,tcp.srcport,tcp.dstport,udp.srcport,"
            "udp.dstport,frame.len"]
    for i, proto in enumerate(["6", "17", "1", "58", "132", odd] * 30):
        ports = "4000,80,," if proto == "6" else ",,5000,53" if proto == "17" else ",,,"
        rows.append(f"{1.0 + i},10.0.{i % 7}.1,10.0.0.2,{proto},{ports},60")
    p.write_text("\n".join(rows) + "\n")

    def read() -> tuple[list[tuple[str, str | None, int]], list[tuple[int, str]]]:
        b = read_all("tshark", p)
        return (sorted((r["src_ip"], r["proto"], r["src_pkts"]) for r in b.table.to_pylist()),
                sorted((r.line, r.reason) for r in b.rejects))

    native = read()
    monkeypatch.setattr(tshark, "_native_ints", lambda *a: {})
    assert native == read()


def test_a_rejected_packet_keeps_the_reason_its_address_gives(tmp_path: Path) -> None:
    # addresses are checked on the flows; a packet rejected before it makes one (here: no
    # destination) still gets the reason the per-packet check gives: its source comes first
    p = tmp_path / "r.csv"
    p.write_text("frame.time_epoch,ip.src,ip.dst,ip.proto,tcp.srcport,tcp.dstport,frame.len\n"
                 "1.0,10.0.0.1,10.0.0.2,6,4000,80,60\n"
                 "1.1,10.0.0.300,,6,4000,80,60\n"
                 "1.2,10.0.0.3,,6,4000,80,60\n")
    b = read_all("tshark", p)
    assert [(r.line, r.reason) for r in b.rejects] == [
        (3, "missing or invalid source address"), (4, "missing or invalid destination address")]
    assert b.table.num_rows == 1


@pytest.mark.parametrize("block_bytes", [64 << 20, 4096])
def test_a_carriage_return_inside_quotes_is_a_reject_in_any_block(tmp_path: Path,
                                                                  block_bytes: int) -> None:
    # Arrow keeps a quoted CR in the value when the rest of the block is clean; the line is a
    # reject all the same, whatever block it falls in
    head = '"frame.time_epoch","ip.src","ip.dst","ip.proto","tcp.srcport","tcp.dstport",' \
           '"tcp.flags","frame.len"'
    rows = [f'"{1.0 + i}","10.0.0.1","10.0.0.2","6","{4000 + i % 50}","80","0x0010","60"'
            for i in range(400)]
    rows[200] = rows[200].replace('"0x0010"', '"0x00\r10"')
    p = tmp_path / "cr.csv"
    p.write_bytes(("\n".join([head, *rows]) + "\n").encode())
    b = read_all("tshark", p, block_bytes=block_bytes)
    assert [(r.line, r.reason) for r in b.rejects] == [(202, "carriage return inside the line")]
    assert sum(r["src_pkts"] for r in b.table.to_pylist()) == 399


@pytest.mark.parametrize("time_field", ["frame.time_epoch", "frame.time_relative"])
def test_an_empty_time_is_a_reject_when_the_rest_of_its_block_reads(tmp_path: Path,
                                                                    time_field: str) -> None:
    # every other time in the block is a number: the column casts whole, the empty one is
    # null (this crashed with a type error: the mask of missing times became an integer)
    p = tmp_path / "t.csv"
    p.write_text(f"{time_field},ip.src,ip.dst,ip.proto,tcp.srcport,tcp.dstport,frame.len\n"
                 "1.0,10.0.0.1,10.0.0.2,6,4000,80,60\n"
                 ",10.0.0.1,10.0.0.2,6,4000,80,60\n"
                 "2.0,10.0.0.1,10.0.0.2,6,4000,80,60\n")
    b = read_all("tshark", p)
    assert [(r.line, r.reason) for r in b.rejects] == [(3, "missing packet time")]
    assert [r["src_pkts"] for r in b.table.to_pylist()] == [2]
