"""pcap / pcapng reader, checked against Argus (ra) and tshark -z conv,tcp."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from graphflow.errors import InputFormatError
from ingest import detect_format
from tests.conftest import DATASETS
from tests.readers.conftest import ICMP_PCAP, PCAP, make_argus, need, read_all, run

PCAPS = sorted((DATASETS / "pcap").glob("*.pcap"))


@pytest.mark.parametrize("path", PCAPS, ids=lambda p: p.name)
def test_shared_captures(path: Path) -> None:
    assert detect_format(path).name == "pcap"
    b = read_all("pcap", path)
    assert not b.rejects and b.records == b.table.num_rows


def test_flows_states_services() -> None:
    t = read_all("pcap", PCAP).table.to_pandas()
    assert t.src_ip.str.contains(":").any()  # IPv6
    ssh = t[(t.dst_port == 22) & (t.src_ip == "192.168.2.1")]
    assert len(ssh) == 2 and (ssh.src_bytes > 0).all() and (ssh.dst_bytes > 0).all()
    telnet = t[t.dst_port.isin([23, 2323]) & (t.src_ip == "192.168.2.16")]
    assert len(telnet) > 20 and (telnet.state == "S0").mean() > 0.9
    assert (telnet.tcp_flags == "S_").mean() > 0.9
    assert t.source_line.is_unique and t.source_line.min() >= 1  # first packet's number
    icmp = read_all("pcap", ICMP_PCAP).table.to_pandas()
    assert (icmp.proto == "icmp").all() and set(icmp.state) <= {"CON", "INT"}


def test_pcapng_gzip_empty_truncated(tmp_path: Path) -> None:
    need("editcap")
    ng = tmp_path / "x.pcapng"
    run(["editcap", "-F", "pcapng", str(PCAP), str(ng)])
    assert detect_format(ng).name == "pcap"
    n = read_all("pcap", PCAP).table.num_rows
    assert read_all("pcap", ng).table.num_rows == n
    gz = tmp_path / "x.pcap.gz"
    gz.write_bytes(gzip.compress(PCAP.read_bytes()))
    assert detect_format(gz).name == "pcap"
    assert read_all("pcap", gz).table.num_rows == n
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    assert read_all("pcap", empty).table.num_rows == 0
    cut = tmp_path / "cut.pcap"
    data = PCAP.read_bytes()
    cut.write_bytes(data[: len(data) // 2 + 7])  # the last packet is cut short
    part = read_all("pcap", cut)
    assert 0 < part.table.num_rows <= n and part.notes.get("truncated_file") == 1
    hdr = tmp_path / "hdr.pcap"
    hdr.write_bytes(data[:10])
    with pytest.raises(InputFormatError, match="truncated"):
        read_all("pcap", hdr)


def test_tcp_conversations_agree_with_tshark() -> None:
    """``tshark -z conv,tcp`` and GraphFlow count the same packets per TCP connection."""
    need("tshark")
    out = run(["tshark", "-r", str(PCAP), "-q", "-z", "conv,tcp"])
    conv = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s.*?\s(\d+)\s+\S+\s+(\d+)\s", line)
        if m:
            a, ap, b, bp = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
            total = [int(x) for x in re.findall(r"(\d+) (?:bytes|kB|MB)", line)]
            frames = [int(x) for x in re.findall(r"\s(\d+)\s+[\d]+ (?:bytes|kB|MB)", line)]
            conv[frozenset([(a, ap), (b, bp)])] = frames[2] if len(frames) >= 3 else None
            _ = total
    t = read_all("pcap", PCAP).table.to_pandas()
    tcp = t[t.proto == "tcp"]
    ours: dict[frozenset[tuple[str, int]], int] = {}
    for r in tcp.itertuples():
        k = frozenset([(r.src_ip, int(r.src_port)), (r.dst_ip, int(r.dst_port))])
        ours[k] = ours.get(k, 0) + int(r.src_pkts) + int(r.dst_pkts)
    assert set(ours) == set(conv)
    assert all(ours[k] == conv[k] for k in conv if conv[k] is not None)


def test_connections_agree_with_argus(tmp_path: Path) -> None:
    """Argus sees the same TCP/UDP 5-tuples as GraphFlow's pcap reader."""
    out = make_argus(PCAP, tmp_path / "a.csv")
    a = read_all("argus", out).table.to_pandas()
    p = read_all("pcap", PCAP).table.to_pandas()

    def tuples(t: pd.DataFrame) -> set[frozenset[tuple[str, int]]]:
        t = t[t.proto.isin(["tcp", "udp"])]
        rows = zip(t.src_ip, t.src_port, t.dst_ip, t.dst_port, strict=True)
        return {frozenset([(str(s), int(sp)), (str(d), int(dp))]) for s, sp, d, dp in rows}

    assert tuples(a) == tuples(p)
    assert shutil.which("ra")
