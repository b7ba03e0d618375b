"""Neo4j load benchmark: the batched driver path vs the bulk importer, same host graph.

For each size (default 1M flows; add 10M with ``--sizes 1000000,10000000``) it generates a
synthetic Zeek conn.log (once; kept in bench/out/, shared with ingest_bench.py) and ingests it
into a workspace (once), then, against a launcher-started Neo4j on a free loopback port:

* ``sweep``: the batched path on a small workspace (200k flows) at several batch sizes, each
  into an empty graph: how the batch size was chosen;
* ``batched``: ``graphflow load`` (a fresh subprocess, so peak memory is its own) into an
  empty graph: relationships/s, peak RSS of the client and of the server;
* ``reload``: the same again with ``--force`` (every MERGE matches): relationships/s;
* ``bulk``: the same workspace through neo4j-admin's importer into a new database (the
  reference): relationships/s for the import, then the index build and markers;
* ``read``: DuckDB streaming the same edge rows into Python columns (the client-side ceiling);
* ``ceiling``: on the warm server, the same host pairs written as relationships with no
  property and no index, then with only the unique key (the server-side ceiling: what any
  write of these relationships through the driver costs before a single figure is stored).

Both graphs are checked against the workspace (hosts, edges and every summed figure) before
any figure is printed. Results also go to bench/out/neo4j.json.

    python bench/neo4j_bench.py --sizes 1000000
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
SWEEP_SIZES = (1_000, 5_000, 10_000, 20_000, 50_000)

LOAD = """
import sys, json
from graphflow.stores.neo4j import Neo4jStore
from graphflow.workspace import Workspace
with Neo4jStore.open(sys.argv[1], env={}) as store:
    r = store.load(Workspace.open(sys.argv[2], create=False), batch_size=int(sys.argv[3]),
                   force=sys.argv[4] == "1")
print(json.dumps(r.to_dict()))
"""


def run_measured(code: str, *args: str) -> tuple[float, float, dict[str, object]]:
    """Run ``code`` in a fresh interpreter; return (seconds, peak RSS MiB, its JSON output)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("benchmark subprocess failed")
    return seconds, usage.ru_maxrss / 1024, json.loads(out)


def ensure_workspace(size: int) -> Path:
    from graphflow.generate import GeneratorConfig, generate
    from graphflow.ingestion import ingest_files
    from graphflow.workspace import Workspace

    path = OUT / f"conn-{size}" / "conn.log"
    if not path.exists():
        per_day = int(size / (DAYS * 0.8))  # as ingest_bench.py: weekends carry less
        generate(GeneratorConfig(seed=7, days=DAYS, flows_per_day=per_day), path.parent)
    ws = OUT / f"neo4j-ws-{size}"
    if not Workspace.is_current(ws):  # none yet, or one of an older GraphFlow
        shutil.rmtree(ws, ignore_errors=True)
        t0 = time.perf_counter()
        ingest_files([path], ws)
        print(f"ingested {path} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return ws


def server_peak_mb(home: Path) -> float:
    """Peak RSS (VmHWM) of the launcher serving ``home``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            if "graphflow-neo4j-launcher" in cmd and str(home) in cmd:
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return 0.0


def read_rate(ws: Path) -> float:
    """Edge rows/s that DuckDB streams into Python columns, as the loader reads them."""
    from graphflow.db import connect
    from graphflow.stores.neo4j import _EDGE_SQL, _arrow_reader, _columns, _edge_days
    from graphflow.workspace import Workspace

    w = Workspace.open(ws, create=False)
    con = connect(w)
    rows = 0
    t0 = time.perf_counter()
    for day in _edge_days(w):
        for b in _arrow_reader(con, _EDGE_SQL, [day], 10_000):
            rows += len(_columns(b)["key"])
    con.close()
    return rows / (time.perf_counter() - t0)


#: What creating a relationship costs this server at all, whatever GraphFlow stores on it:
#: the same host pairs, the same batches, through the same driver, as relationships with no
#: property and no index, then with only the unique key. The FLOW write cannot beat these.
CEILING_QUERIES = {
    "bare": "UNWIND range(0, size($src_ip) - 1) AS i "
            "MATCH (s:Host {ip: $src_ip[i]}) MATCH (d:Host {ip: $dst_ip[i]}) "
            "CREATE (s)-[:GFBenchBare]->(d)",
    "key_only": "UNWIND range(0, size($src_ip) - 1) AS i "
                "MATCH (s:Host {ip: $src_ip[i]}) MATCH (d:Host {ip: $dst_ip[i]}) "
                "CREATE (s)-[:GFBenchKeyed {key: $key[i]}]->(d)",
}


def ceiling(driver: Any, ws: Any, batch: int) -> dict[str, int]:
    """Relationships/s of :data:`CEILING_QUERIES` (rows read beforehand, so only the writes
    are timed); the bench relationships are deleted again afterwards."""
    from graphflow.db import connect
    from graphflow.stores.neo4j import _EDGE_SQL, _arrow_reader, _columns, _edge_days

    con = connect(ws)
    batches = [{k: v for k, v in _columns(b).items() if k in ("key", "src_ip", "dst_ip")}
               for day in _edge_days(ws) for b in _arrow_reader(con, _EDGE_SQL, [day], batch)]
    con.close()
    rows = sum(len(b["key"]) for b in batches)
    driver.execute_query("CREATE CONSTRAINT gf_bench_key IF NOT EXISTS "
                         "FOR ()-[r:GFBenchKeyed]-() REQUIRE r.key IS UNIQUE")
    out: dict[str, int] = {}
    with driver.session() as session:
        for name, query in CEILING_QUERIES.items():
            t0 = time.perf_counter()
            for params in batches:
                session.execute_write(lambda tx, q=query, p=params: tx.run(q, p).consume())
            out[name] = round(rows / (time.perf_counter() - t0))
        for query in ("MATCH ()-[r:GFBenchBare]->() CALL { WITH r DELETE r } "
                      "IN TRANSACTIONS OF 50000 ROWS",
                      "MATCH ()-[r:GFBenchKeyed]->() CALL { WITH r DELETE r } "
                      "IN TRANSACTIONS OF 50000 ROWS"):
            session.run(query).consume()
    driver.execute_query("DROP CONSTRAINT gf_bench_key IF EXISTS")
    return out


def time_analyses(driver: Any, ws: Any) -> list[dict[str, object]]:
    """Each analysis, default parameters, on the embedded store and on Neo4j (same graph),
    wall seconds of one run each; the findings' ids are checked equal first."""
    from graphflow.analyses import REGISTRY, run_analysis
    from graphflow.analyses.neo4j_backend import run_analysis_neo4j

    rows: list[dict[str, object]] = []
    for name in sorted(REGISTRY):
        t0 = time.perf_counter()
        emb = run_analysis(ws, name)
        t1 = time.perf_counter()
        cyp = run_analysis_neo4j(driver, name)
        t2 = time.perf_counter()
        assert [f.id for f in emb] == [f.id for f in cyp], f"{name}: backends differ"
        rows.append({"analysis": name, "embedded_s": round(t1 - t0, 2),
                     "neo4j_s": round(t2 - t1, 2), "findings": len(emb)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--batch-size", type=int, default=0,
                    help="Batch size for the full loads (default: the sweep's best).")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--no-analyses", action="store_true",
                    help="Skip timing every analysis on both backends.")
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--page-cache", default="1g")
    args = ap.parse_args()

    import neo4j

    from graphflow.neo4j_server import build_launcher, running_server
    from graphflow.stores.base import workspace_counts
    from graphflow.stores.neo4j import graph_counts, open_driver, resolve_target, wipe_graph
    from graphflow.stores.neo4j_bulk import bulk_import, finish_bulk_load
    from graphflow.workspace import Workspace

    OUT.mkdir(exist_ok=True)
    build_launcher()
    results: dict[str, object] = {}
    home = OUT / "neo4j-home"
    shutil.rmtree(home, ignore_errors=True)
    with running_server(home, heap=args.heap, page_cache=args.page_cache) as uri:
        driver: neo4j.Driver = open_driver(resolve_target(uri, env={}))
        batch = args.batch_size
        if not args.no_sweep:
            small = ensure_workspace(200_000)
            sweep = []
            for size in SWEEP_SIZES:
                wipe_graph(driver)
                _, _, rep = run_measured(LOAD, uri, str(small), str(size), "0")
                sweep.append({"batch_size": size, "relationships": rep["relationships"],
                              "relationships_per_s": rep["relationships_per_second"]})
                print(f"sweep  batch {size:>6,}: {rep['relationships_per_second']:>8,} rels/s "
                      f"({rep['relationships']:,} rels)", flush=True)
            results["sweep"] = sweep
            best = max(SWEEP_SIZES, key=lambda b: next(
                int(str(r["relationships_per_s"])) for r in sweep if r["batch_size"] == b))
            batch = batch or best
        batch = batch or 10_000
        rows = []
        for size in [int(float(s)) for s in args.sizes.split(",")]:
            ws_path = ensure_workspace(size)
            ws = Workspace.open(ws_path, create=False)
            expected = workspace_counts(ws)
            wipe_graph(driver)
            s1, mb1, first = run_measured(LOAD, uri, str(ws_path), str(batch), "0")
            assert graph_counts(driver) == expected, "batched load differs from the workspace"
            s2, mb2, again = run_measured(LOAD, uri, str(ws_path), str(batch), "1")
            assert graph_counts(driver) == expected, "reload changed the graph"
            timings = [] if args.no_analyses else time_analyses(driver, ws)
            for t in timings:
                print(f"{expected.sums['flows']:>11,} flows | {t['analysis']:<22} embedded "
                      f"{t['embedded_s']:7.2f} s | neo4j {t['neo4j_s']:7.2f} s | "
                      f"{t['findings']} findings, same on both", flush=True)
            ceil = ceiling(driver, ws, batch)
            assert graph_counts(driver) == expected, "the ceiling runs left something behind"
            server_mb = server_peak_mb(home)
            wipe_graph(driver)  # free the session server's memory for the bulk path
            bulk_home = OUT / "neo4j-bulk-home"
            shutil.rmtree(bulk_home, ignore_errors=True)
            bulk = bulk_import(ws, bulk_home, heap=args.heap)
            with running_server(bulk_home, heap=args.heap, page_cache=args.page_cache) as buri:
                bdriver = open_driver(resolve_target(buri, env={}))
                index_s = finish_bulk_load(bdriver, ws)
                assert graph_counts(bdriver) == expected, "bulk import differs"
                bdriver.close()
            shutil.rmtree(bulk_home, ignore_errors=True)
            rate = read_rate(ws_path)
            row = {
                "flows": expected.sums["flows"], "hosts": expected.hosts,
                "relationships": expected.edges, "batch_size": batch,
                "batched_s": round(float(str(first["seconds"])), 1),
                "batched_rels_per_s": first["relationships_per_second"],
                "batched_client_peak_rss_mb": round(mb1), "server_peak_rss_mb": round(server_mb),
                "reload_s": round(float(str(again["seconds"])), 1),
                "reload_rels_per_s": again["relationships_per_second"],
                "bulk_export_s": round(bulk.export_seconds, 1),
                "bulk_import_s": round(bulk.import_seconds, 1),
                "bulk_rels_per_s": round(bulk.relationships_per_second),
                "bulk_index_s": round(index_s, 1),
                "bulk_total_rels_per_s": round(expected.edges / (
                    bulk.export_seconds + bulk.import_seconds + index_s)),
                "duckdb_read_rows_per_s": round(rate),
                "ceiling_bare_rels_per_s": ceil["bare"],
                "ceiling_key_only_rels_per_s": ceil["key_only"],
                "wall_s": round(s1 + s2, 1), "client_reload_peak_rss_mb": round(mb2),
                "analyses": timings,
            }
            rows.append(row)
            print(f"{row['flows']:>11,} flows {row['relationships']:>10,} rels | batched "
                  f"{row['batched_s']:6.1f} s {row['batched_rels_per_s']:>8,} rels/s client "
                  f"{mb1:5.0f} MiB server {server_mb:5.0f} MiB | reload "
                  f"{row['reload_rels_per_s']:>8,} rels/s | bulk import "
                  f"{row['bulk_rels_per_s']:>8,} rels/s (export {row['bulk_export_s']} s, "
                  f"indexes {row['bulk_index_s']} s: {row['bulk_total_rels_per_s']:,} rels/s "
                  f"end to end) | duckdb read {row['duckdb_read_rows_per_s']:,} rows/s | "
                  f"ceiling: bare {ceil['bare']:,} rels/s, key only {ceil['key_only']:,} rels/s",
                  flush=True)
        results["results"] = rows
        driver.close()
    shutil.rmtree(home, ignore_errors=True)
    results["machine"] = (f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    (OUT / "neo4j.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
