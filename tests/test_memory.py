"""keep_freed_memory: in force where the C library is glibc, set by the CLI, and reads that
follow fault in fewer fresh pages."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphflow import memory
from graphflow.cli import main

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

_FAULTS = """
import json, resource, sys
if sys.argv[2] == "kept":
    from graphflow.memory import keep_freed_memory
    assert keep_freed_memory()
import ingest
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for b in ingest.read_file(ingest.get_reader("tshark"), sys.argv[1], block_bytes=4 << 20):
        pass
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps(faults))
"""


@glibc
def test_set_once_and_by_the_cli(tmp_path: Path) -> None:
    assert memory.keep_freed_memory() and memory.keep_freed_memory()
    memory._done = False
    CliRunner().invoke(main, ["schema"])
    assert memory._done


@glibc
def test_repeated_reads_fault_in_fewer_pages(tmp_path: Path) -> None:
    """Each read of a 400,000-packet tshark file in 4 MB blocks: glibc's default hands freed
    blocks back and faults them in again (about 47,000 minor faults each read when measured);
    kept, under 2,000 from the second read on."""
    rng = np.random.default_rng(7)
    n = 400_000
    ts = 1_700_000_000 + np.cumsum(rng.exponential(0.001, n))
    hosts = [f"10.0.{i // 200}.{i % 200 + 1}" for i in range(2000)]
    a, b = rng.integers(0, len(hosts), n), rng.integers(0, len(hosts), n)
    sport, dport = rng.integers(1024, 65535, n), rng.choice([22, 53, 80, 443], n)
    length = rng.integers(40, 1500, n)
    path = tmp_path / "packets.csv"
    with path.open("w") as fh:
        fh.write("frame.time_epoch,ip.src,ip.dst,tcp.srcport,tcp.dstport,udp.srcport,"
                 "udp.dstport,ip.proto,ip.len,frame.len,tcp.flags\n")
        fh.writelines(f"{ts[i]:.6f},{hosts[a[i]]},{hosts[b[i]]},{sport[i]},{dport[i]},,,6,"
                      f"{length[i]},{length[i] + 14},0x0018\n" for i in range(n))
    root = Path(__file__).resolve().parents[1]

    def faults(mode: str) -> list[int]:
        out = subprocess.run([sys.executable, "-c", _FAULTS, str(path), mode], cwd=root,
                             capture_output=True, text=True, check=True).stdout
        got: list[int] = json.loads(out)
        return got

    default, kept = faults("default"), faults("kept")
    assert kept[2] * 2 < default[2], (default, kept)
