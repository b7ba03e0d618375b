"""Ingest benchmark: GraphFlow vs DuckDB turning the same conn.log into Parquet.

For each size (default 1M and 10M flows) it generates a synthetic Zeek conn.log (once; kept in
bench/out/) and reads it once (both contenders start from the page cache), then, each in a
fresh subprocess so that peak memory is measured per run:

* ``graphflow``: ``ingest_files`` into an empty workspace (parse, validate, dedup key,
  day-partitioned Parquet, edges, ledger);
* ``duckdb``: ``COPY (SELECT * FROM read_csv(...all columns...)) TO 'x.parquet'``.

It prints flows/s, seconds and peak RSS for both, and the ratio of GraphFlow's throughput to
DuckDB's. Results also go to bench/out/ingest.json.

    python bench/ingest_bench.py --sizes 1000000,10000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
DAYS = 14

OURS = """
import sys, json
from graphflow.ingestion import ingest_files
from graphflow.memory import keep_freed_memory
keep_freed_memory()  # as the graphflow CLI does
r = ingest_files([sys.argv[1]], sys.argv[2])
print(json.dumps({"read": r.read, "loaded": r.loaded, "rejected": r.rejected,
                  "timings": r.timings}))
"""

DUCK = """
import sys, json, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("COPY (SELECT * FROM read_csv($f, delim = '\\t', comment = '#', header = false, "
            "nullstr = '-', quote = '', escape = '')) TO '" + sys.argv[2] + "' (FORMAT parquet)",
            {"f": sys.argv[1]})
(n,) = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": sys.argv[2]}).fetchone()
print(json.dumps({"loaded": n}))
"""


def run_measured(code: str, *args: str) -> tuple[float, float, float, dict[str, Any]]:
    """Run ``code`` in a fresh interpreter; return (seconds, peak RSS MiB, CPU seconds (user +
    system, all threads: steadier than wall time on a shared machine), its JSON output)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark subprocess failed ({proc.returncode})")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, cpu, json.loads(out)


def ensure_file(size: int) -> Path:
    from graphflow.generate import GeneratorConfig, generate

    path = OUT / f"conn-{size}" / "conn.log"
    if path.exists():
        return path
    # weekends carry less background traffic: aim the weekday volume at the requested total
    per_day = int(size / (DAYS * 0.8))
    t0 = time.perf_counter()
    truth = generate(GeneratorConfig(seed=7, days=DAYS, flows_per_day=per_day), path.parent)
    print(f"generated {truth.flows:,} flows ({path.stat().st_size / 1e6:,.0f} MB) in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def warm(path: Path) -> None:
    """Read the file once, so that both contenders start from the page cache (whichever ran
    first would otherwise also pay for the disk)."""
    with open(path, "rb") as fh:
        while fh.read(16 << 20):
            pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    results = []
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        path = ensure_file(size)
        ws = OUT / "ws"
        shutil.rmtree(ws, ignore_errors=True)
        warm(path)
        ours_s, ours_mb, ours_cpu, ours = run_measured(OURS, str(path), str(ws))
        duck_out = OUT / "duckdb.parquet"
        duck_s, duck_mb, duck_cpu, duck = run_measured(DUCK, str(path), str(duck_out))
        shutil.rmtree(ws, ignore_errors=True)
        duck_out.unlink(missing_ok=True)
        flows = ours["read"]
        assert duck["loaded"] == flows, (duck, ours)
        row = {
            "flows": flows, "mb": round(path.stat().st_size / 1e6),
            "graphflow_s": round(ours_s, 2), "graphflow_flows_per_s": round(flows / ours_s),
            "graphflow_peak_rss_mb": round(ours_mb), "duckdb_s": round(duck_s, 2),
            "duckdb_flows_per_s": round(flows / duck_s), "duckdb_peak_rss_mb": round(duck_mb),
            "ratio": round(duck_s / ours_s, 2),
            "graphflow_cpu_s": round(ours_cpu, 2), "duckdb_cpu_s": round(duck_cpu, 2),
            "cpu_ratio": round(duck_cpu / ours_cpu, 2),
            "graphflow_phases_s": ours["timings"],
            "load_avg_1min": round(os.getloadavg()[0], 2),
        }
        results.append(row)
        print(f"{flows:>11,} flows {row['mb']:>6,} MB | graphflow {ours_s:6.1f} s "
              f"{row['graphflow_flows_per_s']:>10,} flows/s {ours_mb:6.0f} MiB | duckdb "
              f"{duck_s:6.1f} s {row['duckdb_flows_per_s']:>10,} flows/s {duck_mb:6.0f} MiB | "
              f"ratio {row['ratio']:.2f} | cpu {ours_cpu:.1f} s vs {duck_cpu:.1f} s "
              f"(ratio {row['cpu_ratio']:.2f}) | load {row['load_avg_1min']}", flush=True)
        print("  graphflow phases (s): " + ", ".join(
            f"{k} {v}" for k, v in ours["timings"].items()), flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    (OUT / "ingest.json").write_text(json.dumps({"machine": machine, "results": results},
                                                indent=1))


if __name__ == "__main__":
    main()
