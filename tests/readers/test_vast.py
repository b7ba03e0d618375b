"""VAST Challenge 2013 netflow reader and its swapped-record repair."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphflow.errors import InputFormatError
from ingest import detect_format
from tests.conftest import DATASETS
from tests.readers.conftest import read_all

SHARED = DATASETS / "vast" / "vast2013-mc3-nf-week2-sample.csv"
HEADER = ("TimeSeconds,parsedDate,dateTimeStr,ipLayerProtocol,ipLayerProtocolCode,"
          "firstSeenSrcIp,firstSeenDestIp,firstSeenSrcPort,firstSeenDestPort,moreFragments,"
          "contFragments,durationSeconds,firstSeenSrcPayloadBytes,firstSeenDestPayloadBytes,"
          "firstSeenSrcTotalBytes,firstSeenDestTotalBytes,firstSeenSrcPacketCount,"
          "firstSeenDestPacketCount,recordForceOut")


def row(ts: float, proto: int, code: str, s: str, d: str, sp: int, dp: int, spay: int,
        dpay: int, stot: int, dtot: int, spk: int, dpk: int) -> str:
    return (f"{ts:.6f},2013-04-10 08:00:00,20130410080000.0,{proto},{code},{s},{d},{sp},{dp},"
            f"0,0,1,{spay},{dpay},{stot},{dtot},{spk},{dpk},0")


def generate(n: int, seed: int = 3) -> tuple[str, np.ndarray, list[tuple[Any, ...]]]:
    """Flows to services on ports unlike VAST 2013's (7777, 4433, 5999, 1234, 9053/udp),
    10% written from the server's side, plus two scanners sweeping ports and OTHER records."""
    rnd = random.Random(seed)
    services = [(7777, 6, "TCP"), (4433, 6, "TCP"), (5999, 6, "TCP"), (1234, 6, "TCP"),
                (9053, 17, "UDP")]
    servers = [f"172.30.{i}.{j}" for i in range(2) for j in range(1, 11)]
    clients = [f"10.{i}.{j}.{k}" for i in range(2) for j in range(10) for k in range(1, 26)]
    lines, truth, orig = [], [], []
    t = 1365580000.0
    for _ in range(n):
        t += 0.01
        r = rnd.random()
        if r < 0.05:  # scanners: two hosts sweep many ports on many hosts
            s, d = rnd.choice(["10.99.0.1", "10.99.0.2"]), rnd.choice(servers)
            sp, dp, proto, code = rnd.randrange(40000, 60000), rnd.randrange(1, 65536), 6, "TCP"
            vals = (s, d, sp, dp, 0, 0, 60, 0, 1, 0)
            swap = False
        elif r < 0.07:  # OTHER: no ports (written as 0)
            s, d = rnd.choice(clients), rnd.choice(servers)
            vals = (s, d, 0, 0, 56, 56, 84, 84, 1, 1)
            proto, code, swap = 1, "OTHER", False
        else:
            port, proto, code = rnd.choice(services)
            s, d = rnd.choice(clients), rnd.choice(servers)
            sp = rnd.randrange(1024, 65536)
            while sp in {p for p, _, _ in services}:
                sp = rnd.randrange(1024, 65536)
            spay, dpay = rnd.randrange(0, 2000), rnd.randrange(0, 90000)
            spk, dpk = rnd.randrange(1, 30), rnd.randrange(1, 90)
            vals = (s, d, sp, port, spay, dpay, spay + 40 * spk, dpay + 40 * dpk, spk, dpk)
            swap = rnd.random() < 0.10
        orig.append((proto, *vals))
        written = (vals[1], vals[0], vals[3], vals[2], vals[5], vals[4], vals[7], vals[6],
                   vals[9], vals[8]) if swap else vals
        lines.append(row(t, proto, code, *written))
        truth.append(swap)
    return HEADER + "\n" + "\n".join(lines) + "\n", np.array(truth), orig


def test_flip_precision_recall_and_every_column(tmp_path: Path) -> None:
    text, truth, orig = generate(60_000)
    p = tmp_path / "nf-generated.csv"
    p.write_text(text)
    assert detect_format(p).name == "vast"
    b = read_all("vast", p)
    assert not b.rejects
    t = b.table.to_pandas().sort_values("source_line")
    written = [ln.split(",")[5:7] for ln in text.splitlines()[1:]]
    got = np.array([[r.src_ip, r.dst_ip] != w for r, w in zip(t.itertuples(), written,
                                                                 strict=True)])
    tp = int((got & truth).sum())
    precision = tp / max(int(got.sum()), 1)
    recall = tp / int(truth.sum())
    assert precision >= 0.99 and recall >= 0.99, (precision, recall)
    assert b.notes["flipped"] == int(got.sum())
    # every column is back where the original connection had it
    wrong = 0
    for r, o in zip(t.itertuples(), orig, strict=True):
        proto, s, d, sp, dp, _spay, _dpay, stot, dtot, spk, dpk = o
        if proto == 1:  # OTHER: port 0 means no port
            assert np.isnan(r.src_port) and np.isnan(r.dst_port)
            continue
        wrong += (r.src_ip, r.dst_ip, r.src_port, r.dst_port, r.src_bytes, r.dst_bytes,
                  r.src_pkts, r.dst_pkts) != (s, d, sp, dp, stot, dtot, spk, dpk)
    assert wrong <= 0.01 * len(t)


def test_no_repair_keeps_records_as_written(tmp_path: Path) -> None:
    text, truth, _ = generate(5000)
    p = tmp_path / "nf.csv"
    p.write_text(text)
    kept = read_all("vast", p, repair=False)
    assert kept.notes.get("flipped", 0) == 0
    fixed = read_all("vast", p)
    assert fixed.notes["flipped"] > 0.9 * truth.sum()
    written_src = [ln.split(",")[5] for ln in text.splitlines()[1:]]
    assert kept.table.sort_by("source_line").column("src_ip").to_pylist() == written_src


def test_shared_sample_other_records_and_ports() -> None:
    assert detect_format(SHARED).name == "vast"
    b = read_all("vast", SHARED)
    assert b.table.num_rows == 999 and not b.rejects
    t = b.table.to_pandas()
    # the two records from port 80 to an ephemeral port are the server's side: flipped
    assert b.notes["flipped"] == 2
    assert set(t[t.src_ip.str.startswith("172.30.")].dst_port.dropna()) == {80}


def test_other_port_zero_is_null_ipv6_malformed_empty(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_text(HEADER + "\n"
                 + row(1365580000.5, 1, "OTHER", "10.0.0.1", "10.0.0.2", 0, 0, 0, 0, 84, 84, 1,
                       1) + "\n"
                 + row(1365580001, 6, "TCP", "2001:db8::1", "2001:db8::2", 40000, 80, 10, 20,
                       50, 60, 1, 1) + "\n"
                 + "1365580002,short,line\n"
                 + row(1365580003, 6, "TCP", "10.0.0.1", "10.0.0.2", 40000, 99999, 0, 0, 1, 1,
                       1, 1) + "\n")
    b = read_all("vast", p)
    t = b.table.to_pylist()
    assert [r["proto"] for r in t] == ["icmp", "tcp"]
    assert t[0]["src_port"] is None and t[0]["dst_port"] is None
    assert t[1]["src_ip"] == "2001:db8::1" and t[1]["dst_port"] == 80
    assert [(r.line, r.reason.split(", got")[0]) for r in b.rejects] == [
        (4, "expected 19 fields separated by ','"), (5, "dst_port out of range 0-65535")]
    e = tmp_path / "e.csv"
    e.write_text("")
    assert read_all("vast", e).table.num_rows == 0
    x = tmp_path / "x.csv"
    x.write_text("a,b\n")
    with pytest.raises(InputFormatError):
        read_all("vast", x)
