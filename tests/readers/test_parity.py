"""Cross-format parity on one capture.

``slips-test7-hide-and-seek-short.pcap`` is read four ways: directly (pcap reader), as tshark
CSV (full field set), as nfdump CSV made by nfpcapd (stitched) and as Argus ``ra`` CSV. The
host sets and the edge sets (day, src, dst, dst_port, proto) must be identical and each edge's
bytes within 1% -- except for the differences listed here flow by flow, each with its cause
in the tool, not in GraphFlow:

nfdump (nfpcapd 1.7.1)
  * MLDv2 reports ``::``/``fe80::d2:4591:568e:c3d1``/``fe80::ba27:ebff:fec7:e9c9`` ->
    ``ff02::16`` carry a hop-by-hop extension header; nfpcapd records the next-header value 0
    as the protocol, so the edge has proto ``0`` instead of ``icmp``.
  * NTP between 192.168.2.16:123 and 31.31.74.35 / 81.2.248.189 / 88.198.12.78 (port 123 on
    both sides): query and answer fall in the same second and nfdump's CSV has whole-second
    times, so nothing tells which side spoke first; some exchanges are stitched from the
    server's side (edge server -> client, port 123) and the client's edge has fewer bytes.
Argus (3.0.8)
  * IGMPv3 membership reports of 192.168.2.16 and 172.17.0.1 to 224.0.0.22: Argus writes the
    destination as ``0.0.0.1``.
  * Argus counts bytes on the wire; the reader takes the 14-byte Ethernet header off, but
    frames shorter than 60 bytes were padded to 60 and the padding cannot be told apart: an
    edge may carry more bytes than the IP packets had, at most 26 bytes per packet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.readers.conftest import PCAP, read_all

MLD = {("::", "ff02::16"), ("fe80::d2:4591:568e:c3d1", "ff02::16"),
       ("fe80::ba27:ebff:fec7:e9c9", "ff02::16")}
NTP_SERVERS = {"31.31.74.35", "81.2.248.189", "88.198.12.78"}
IGMP_SOURCES = {"192.168.2.16", "172.17.0.1"}


def _edges(t: pd.DataFrame) -> pd.DataFrame:
    t = t.assign(day=t.ts.dt.date, dst_port=t.dst_port.fillna(-1).astype(int),
                 bytes=t.src_bytes.fillna(0) + t.dst_bytes.fillna(0),
                 pkts=t.src_pkts.fillna(0) + t.dst_pkts.fillna(0))
    return t.groupby(["day", "src_ip", "dst_ip", "dst_port", "proto"])[["bytes", "pkts"]].sum()


@pytest.fixture(scope="module")
def flows(tshark_csv: Path, nfdump_csv: Path, argus_csv: Path) -> dict[str, pd.DataFrame]:
    return {
        "pcap": read_all("pcap", PCAP).table.to_pandas(),
        "tshark": read_all("tshark", tshark_csv).table.to_pandas(),
        "nfdump": read_all("nfdump", nfdump_csv).table.to_pandas(),
        "argus": read_all("argus", argus_csv).table.to_pandas(),
    }


def _diff(flows: dict[str, pd.DataFrame], fmt: str) -> tuple[set[Any], set[Any], list[Any],
                                                            list[Any]]:
    base, other = flows["pcap"], flows[fmt]
    hosts = set(base.src_ip) | set(base.dst_ip)
    ohosts = set(other.src_ip) | set(other.dst_ip)
    eb, eo = _edges(base), _edges(other)
    only_pcap = list(eb.index.difference(eo.index))
    only_fmt = list(eo.index.difference(eb.index))
    common = eb.index.intersection(eo.index)
    rel = (eo.loc[common, "bytes"] - eb.loc[common, "bytes"]).abs() / eb.loc[
        common, "bytes"].clip(lower=1)
    off = [(k, int(eb.loc[k, "bytes"]), int(eo.loc[k, "bytes"]), int(eb.loc[k, "pkts"]))
           for k in rel[rel > 0.01].index]
    return hosts ^ ohosts, {(k[1], k[2], k[3], k[4]) for k in only_pcap + only_fmt}, \
        only_pcap + only_fmt, off


def test_tshark_is_identical(flows: dict[str, pd.DataFrame]) -> None:
    hosts, edges, _, off = _diff(flows, "tshark")
    assert not hosts and not edges and not off


def test_nfdump_stitched(flows: dict[str, pd.DataFrame]) -> None:
    hosts, edges, _, off = _diff(flows, "nfdump")
    assert not hosts
    for src, dst, port, proto in edges:
        mld = (src, dst) in MLD and proto in ("icmp", "0")
        ntp = port == 123 and proto == "udp" and src in NTP_SERVERS
        assert mld or ntp, f"unexplained edge difference {src} -> {dst}:{port}/{proto}"
    for (_, src, dst, port, proto), _b, _o, _p in off:
        assert port == 123 and dst in NTP_SERVERS and proto == "udp", (src, dst, port)
    assert len(edges) <= 9 and len(off) <= 3


def test_argus(flows: dict[str, pd.DataFrame]) -> None:
    hosts, edges, _, off = _diff(flows, "argus")
    assert hosts <= {"224.0.0.22", "0.0.0.1"}
    for src, dst, _port, proto in edges:
        assert proto == "igmp" and src in IGMP_SOURCES and dst in ("224.0.0.22", "0.0.0.1")
    for key, pcap_bytes, argus_bytes, pkts in off:
        # Ethernet padding only: more bytes than the IP packets had, <= 26 per packet
        assert 0 < argus_bytes - pcap_bytes <= 26 * pkts, key
        assert pcap_bytes / pkts < 60, key
    # bytes of all edges together within 1%
    total_p = _edges(flows["pcap"]).bytes.sum()
    total_a = _edges(flows["argus"]).bytes.sum()
    assert abs(total_a - total_p) / total_p < 0.01
