"""Fixtures for the reader tests: outputs of the real tools, made at run time from the pcaps in
``../shared/datasets`` (nothing hand-typed), plus small helpers.

The tools come from ``scripts/setup.d/20-readers.sh`` (nfdump/nfpcapd, argus + ra, tshark);
a test that needs a missing tool is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from ingest import READERS
from ingest.base import FlowBatch
from tests.conftest import DATASETS

PCAP = DATASETS / "pcap" / "slips-test7-hide-and-seek-short.pcap"
ICMP_PCAP = DATASETS / "pcap" / "slips-test12-icmp-portscan.pcap"

#: the full tshark field set used for the parity test (IP lengths make bytes exact)
TSHARK_FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
                 "tcp.dstport", "udp.srcport", "udp.dstport", "ip.proto", "ipv6.nxt",
                 "icmp.type", "icmpv6.type", "ip.len", "ipv6.plen", "frame.len", "tcp.flags"]
ARGUS_FIELDS = ["stime", "dur", "proto", "saddr", "sport", "dir", "daddr", "dport", "state",
                "spkts", "dpkts", "sbytes", "dbytes"]
ENV = {**os.environ, "TZ": "UTC"}


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/setup.d/20-readers.sh installs it)")


def run(cmd: list[str], out: Path | None = None) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, check=True, timeout=300)
    if out is not None:
        out.write_text(res.stdout)
    return res.stdout


def read_all(fmt: str, path: str | Path, **kw: object) -> FlowBatch:
    """Every batch of a file in one (table, rejects, records, notes summed)."""
    batches = list(READERS[fmt].read(str(path), **kw))
    out = FlowBatch(table=pa.concat_tables([b.table for b in batches]))
    for b in batches:
        out.rejects.extend(b.rejects)
        out.records += b.records
        for k, v in b.notes.items():
            out.notes[k] = out.notes.get(k, 0) + v
    return out


def make_tshark(pcap: Path, out: Path, fields: list[str] | None = None,
                *extra: str) -> Path:
    need("tshark")
    cmd = ["tshark", "-r", str(pcap), "-T", "fields"]
    for f in fields or TSHARK_FIELDS:
        cmd += ["-e", f]
    cmd += ["-E", "header=y", "-E", "separator=,", "-E", "occurrence=f", *extra]
    run(cmd, out)
    return out


def make_argus(pcap: Path, out: Path, fields: list[str] | None = None,
               *extra: str) -> Path:
    need("argus", "ra")
    rec = out.with_suffix(".argus")
    run(["argus", "-r", str(pcap), "-w", str(rec)])
    run(["ra", "-r", str(rec), "-n", "-u", "-Z", "b", *extra, "-c", ",", "-s",
         *(fields or ARGUS_FIELDS)], out)
    return out


def make_nfdump(pcap: Path, out: Path, *extra: str) -> Path:
    need("nfpcapd", "nfdump")
    d = out.parent / (out.stem + ".nfcapd")
    d.mkdir()
    run(["nfpcapd", "-r", str(pcap), "-w", str(d)])
    run(["nfdump", "-R", str(d), "-o", "csv", *extra], out)
    return out


@pytest.fixture(scope="session")
def tool_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tools")


@pytest.fixture(scope="session")
def tshark_csv(tool_dir: Path) -> Path:
    return make_tshark(PCAP, tool_dir / "test7.tshark.csv")


@pytest.fixture(scope="session")
def argus_csv(tool_dir: Path) -> Path:
    return make_argus(PCAP, tool_dir / "test7.argus.csv")


@pytest.fixture(scope="session")
def nfdump_csv(tool_dir: Path) -> Path:
    return make_nfdump(PCAP, tool_dir / "test7.nfdump.csv")
