"""Exports benchmark: the host graph of 1M and 10M flows to every format, and ``afterglow`` on a
1M-line CSV.

For each size it uses a workspace built by ingesting a generated Zeek conn.log (kept in
bench/out/; the conn.log is shared with ingest_bench.py), or, with ``--synthetic`` (or when the
generator is missing), a workspace whose edge table is written directly from seeded random
edges. Each export runs in a fresh subprocess (seconds, peak RSS, file size), beside a
reference measured in the same run: DuckDB writing the same per-pair edge table as plain CSV
(``COPY ... TO``), the floor for any text format.

``afterglow`` reads a CSV of ``src_ip,dst_ip,dst_port`` lines taken from the workspace's flows
(three-node mode, the colours.properties of the golden tests); AfterGlow 1.6.6 itself needs
about 240 s for 1M lines on these machines (it is Perl and not shipped here), so its figure is
the reported one; the reference measured in the same run is DuckDB reading the CSV and counting
the distinct edges.

    python bench/exports_bench.py --sizes 1000000,10000000
Targets: the 10M-flow graph to GDF in under 15 s; afterglow at least 50x faster than AfterGlow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
DAYS = 14
AFTERGLOW_REPORTED_S = 240.0
FORMATS = ("gdf", "gexf", "dot", "graphml", "cytoscape", "csv")
PROPERTIES = Path(__file__).resolve().parents[1].parent / "shared" / "afterglow" / \
    "properties" / "colors.properties"

EXPORT = """
import sys, json
from graphflow.exports import export_graph
from graphflow.workspace import Workspace
r = export_graph(Workspace.open(sys.argv[1], create=False), sys.argv[2], sys.argv[3])
print(json.dumps({"nodes": r.nodes, "edges": r.edges, "bytes": r.bytes}))
"""

REFERENCE = """
import sys, json
from graphflow.db import connect
from graphflow.workspace import Workspace
con = connect(Workspace.open(sys.argv[1], create=False))
con.execute("COPY (SELECT src_ip, dst_ip, sum(flows) AS flows, sum(src_bytes) AS src_bytes, "
            "sum(dst_bytes) AS dst_bytes, min(first_seen) AS first_seen, "
            "max(last_seen) AS last_seen, count(DISTINCT day) AS days FROM edges "
            "GROUP BY src_ip, dst_ip) TO '" + sys.argv[2] + "' (HEADER, DELIMITER ',')")
print(json.dumps({}))
"""

AFTERGLOW = """
import sys, json
from graphflow.afterglow import AfterglowOptions, run_afterglow
r = run_afterglow(sys.argv[1], sys.argv[2], AfterglowOptions(),
                  sys.argv[3] if len(sys.argv) > 3 else None)
print(json.dumps({"nodes": r.nodes, "edges": r.edges, "lines": r.lines}))
"""

CSV_REFERENCE = """
import sys, json, duckdb
con = duckdb.connect()
(n,) = con.execute("SELECT count(*) FROM (SELECT DISTINCT column0, column1 FROM "
                   "read_csv($f, header = false, all_varchar = true))",
                   {"f": sys.argv[1]}).fetchone()
print(json.dumps({"edges": n}))
"""


CPU: dict[str, float] = {}


def run_measured(code: str, *args: str) -> tuple[float, float, dict[str, int]]:
    """Run ``code`` in a fresh interpreter; return (seconds, peak RSS MiB, its JSON output).

    The child's CPU seconds (user + system) go to ``CPU["last"]``: on a shared machine they
    say more than the wall clock."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    CPU["last"] = usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark subprocess failed: {args}")
    return seconds, usage.ru_maxrss / 1024, json.loads(out)


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def conn_log(size: int) -> Path:
    from graphflow.generate import GeneratorConfig, generate

    path = OUT / f"conn-{size}" / "conn.log"
    if path.exists():
        return path
    per_day = int(size / (DAYS * 0.8))
    t0 = time.perf_counter()
    truth = generate(GeneratorConfig(seed=7, days=DAYS, flows_per_day=per_day), path.parent)
    print(f"generated {truth.flows:,} flows in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return path


def synthetic_workspace(size: int, ws_dir: Path) -> None:
    """A workspace with only an edge table: ~size flows over seeded random host pairs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from graphflow.schema import EDGE_SCHEMA
    from graphflow.workspace import Workspace

    ws = Workspace.open(ws_dir)
    rng = np.random.default_rng(7)
    rows = int(size * 0.45)
    hosts = np.array([f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(200_000)])
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    staging = ws.new_staging()
    add = []
    for day in range(DAYS):
        n = rows // DAYS
        src = hosts[rng.zipf(1.3, n) % len(hosts)]
        dst = hosts[rng.integers(0, len(hosts), n)]
        flows = rng.zipf(2.0, n).astype("int64")
        first = start + dt.timedelta(days=day)
        t = pa.table({
            "src_ip": src, "dst_ip": dst,
            "dst_port": pa.array(rng.choice([22, 53, 80, 443, 445, 3389], n), pa.uint16()),
            "proto": pa.array(["tcp"] * n), "flows": flows,
            "src_bytes": flows * 500, "dst_bytes": flows * 1500, "src_pkts": flows * 5,
            "dst_pkts": flows * 6,
            "first_seen": pa.array([first] * n, pa.timestamp("us", tz="UTC")),
            "last_seen": pa.array([first] * n, pa.timestamp("us", tz="UTC")),
            "s0_flows": np.zeros(n, "int64"), "rej_flows": np.zeros(n, "int64"),
            "syn_only_flows": np.zeros(n, "int64"),
        })
        for field in EDGE_SCHEMA:  # counters this generator has no opinion on: zero
            if field.name != "day" and field.name not in t.column_names:
                t = t.append_column(field.name, pa.array(np.zeros(n, "int64"), field.type))
        f = staging / f"{day}.parquet"
        pq.write_table(t.select([f.name for f in EDGE_SCHEMA if f.name != "day"]), f)
        add.append((f, f"day={(first.date()).isoformat()}/part-0.parquet"))
    ws.commit(add={"edges": add}, drop={}, ledger=ws.ledger())


def workspace_dir(size: int, synthetic: bool) -> Path:
    return OUT / f"exports-ws-{size}{'-synthetic' if synthetic else ''}"


def workspace(size: int, synthetic: bool) -> Path:
    """The benchmark workspace, built in a child process (so that the exports' peak RSS,
    measured in their own children, does not inherit the ingest's)."""
    from graphflow.workspace import Workspace

    ws = workspace_dir(size, synthetic)
    if not Workspace.is_current(ws):  # none yet, or one of an older GraphFlow
        subprocess.run([sys.executable, __file__, "--build-workspace", str(size)]
                       + (["--synthetic"] if synthetic else []), check=True)
    return ws


def build_workspace(size: int, synthetic: bool) -> None:
    ws = workspace_dir(size, synthetic)
    shutil.rmtree(ws, ignore_errors=True)
    try:
        if synthetic:
            raise ImportError
        log = conn_log(size)
        from graphflow.ingestion import ingest_files

        t0 = time.perf_counter()
        ingest_files([log], ws)
        print(f"ingested {log} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    except ImportError:
        synthetic_workspace(size, ws)


def afterglow_csv(ws: Path, lines: int) -> Path:
    path = OUT / f"afterglow-{lines}.csv"
    if path.exists():
        return path
    from graphflow.db import connect
    from graphflow.workspace import Workspace

    con = connect(Workspace.open(ws, create=False))
    try:
        con.execute("COPY (SELECT src_ip, dst_ip, coalesce(CAST(dst_port AS VARCHAR), '') "
                    "FROM flows LIMIT ?) TO '" + str(path).replace("'", "''") +
                    "' (HEADER false, DELIMITER ',')", [lines])
        (n,) = con.execute("SELECT count(*) FROM read_csv(?, header = false)",
                           [str(path)]).fetchone() or (0,)
    finally:
        con.close()
    if n < lines:  # a workspace of edges only: expand edges into lines
        con = connect(Workspace.open(ws, create=False))
        try:
            con.execute("COPY (SELECT src_ip, dst_ip, CAST(dst_port AS VARCHAR) FROM edges, "  # noqa: S608 - our own path, quoted
                        "range(flows::BIGINT) LIMIT ?) TO '" + str(path).replace("'", "''") +
                        "' (HEADER false, DELIMITER ',')", [lines])
        finally:
            con.close()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--afterglow-lines", type=int, default=1_000_000)
    ap.add_argument("--synthetic", action="store_true", help="Skip the generator and ingest.")
    ap.add_argument("--build-workspace", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.build_workspace:
        build_workspace(args.build_workspace, args.synthetic)
        return
    # the machine may be shared: the load around the run says how far to trust the wall clock
    load_start = [round(x, 2) for x in os.getloadavg()]
    results: list[dict[str, object]] = []
    ws = None
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        ws = workspace(size, args.synthetic)
        ref = OUT / "reference.csv"
        ref_s, ref_mb, _ = run_measured(REFERENCE, str(ws), str(ref))
        ref_cpu = CPU["last"]
        ref_bytes = size_of(ref)
        ref.unlink()
        print(f"{size:>11,} flows | reference (DuckDB COPY per-pair CSV) {ref_s:6.1f} s "
              f"(cpu {ref_cpu:5.1f} s) "
              f"{ref_bytes / 1e6:8.1f} MB {ref_mb:6.0f} MiB", flush=True)
        for fmt in args.formats.split(","):
            target = OUT / f"export-{size}.{fmt}"
            secs, mb, doc = run_measured(EXPORT, str(ws), fmt, str(target))
            nbytes = size_of(target)
            shutil.rmtree(target) if target.is_dir() else target.unlink()
            row = {"flows": size, "format": fmt, "seconds": round(secs, 2),
                   "cpu_s": round(CPU["last"], 2),
                   "bytes": nbytes, "peak_rss_mb": round(mb), "nodes": doc["nodes"],
                   "edges": doc["edges"], "reference_s": round(ref_s, 2),
                   "ratio_to_reference": round(secs / ref_s, 2)}
            results.append(row)
            print(f"{size:>11,} flows | {fmt:9} {secs:6.1f} s (cpu {CPU['last']:5.1f} s) "
                  f"{nbytes / 1e6:8.1f} MB "
                  f"{mb:6.0f} MiB | {doc['nodes']:>9,} nodes {doc['edges']:>9,} edges | "
                  f"{secs / ref_s:4.1f}x reference", flush=True)
    if ws is not None and args.afterglow_lines:
        csv_path = afterglow_csv(ws, args.afterglow_lines)
        out = OUT / "afterglow.dot"
        props = [str(PROPERTIES)] if PROPERTIES.exists() else []
        secs, mb, doc = run_measured(AFTERGLOW, str(csv_path), str(out), *props)
        ag_cpu = CPU["last"]
        ref_s, ref_mb, _ = run_measured(CSV_REFERENCE, str(csv_path))
        nbytes = size_of(out)
        out.unlink()
        speedup = AFTERGLOW_REPORTED_S / secs
        results.append({"afterglow_lines": doc["lines"], "seconds": round(secs, 2),
                        "cpu_s": round(ag_cpu, 2),
                        "peak_rss_mb": round(mb), "bytes": nbytes, "nodes": doc["nodes"],
                        "edges": doc["edges"], "duckdb_read_s": round(ref_s, 2),
                        "afterglow_reported_s": AFTERGLOW_REPORTED_S,
                        "speedup_vs_afterglow": round(speedup, 1)})
        print(f"afterglow {doc['lines']:,} lines | {secs:6.1f} s (cpu {ag_cpu:4.1f} s) "
              f"{mb:6.0f} MiB "
              f"{doc['nodes']:,} nodes {doc['edges']:,} edges | DuckDB read+distinct "
              f"{ref_s:5.1f} s | AfterGlow 1.6.6 ~{AFTERGLOW_REPORTED_S:.0f} s: "
              f"{speedup:.0f}x faster", flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    load = {"start": load_start, "end": [round(x, 2) for x in os.getloadavg()]}
    print(f"load average (1, 5, 15 min): start {load['start']}, end {load['end']}", flush=True)
    name = "exports-synthetic.json" if args.synthetic else "exports.json"
    (OUT / name).write_text(json.dumps({"machine": machine, "load_average": load,
                                        "results": results}, indent=1))


if __name__ == "__main__":
    main()
