"""Analyses benchmark: every analysis over a workspace of N generated flows, timed, and for the
scan analyses beside the same question written directly in DuckDB SQL over the same Parquet
(after asserting both give the same entities).

    python bench/analyses_bench.py --sizes 1000000,10000000

Uses the generated conn.log of bench/ingest_bench.py (bench/out/conn-N/) and its side files.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent / "out"

#: hand-written DuckDB SQL over the flow Parquet, one per analysis: returns the entities
DIRECT = {
    "fanout_scanners": """
        WITH f AS (SELECT * FROM read_parquet($flows, hive_partitioning = true))
        SELECT DISTINCT src_ip FROM (
          SELECT src_ip, day FROM f
          WHERE (state IN ('REJ', 'RSTOS0') OR coalesce(dst_pkts, 0) = 0)
            AND src_ip NOT IN (SELECT unnest($wl))
          GROUP BY ALL HAVING count(DISTINCT dst_ip) >= 50)""",
    "syn_only_scans": """
        WITH f AS (SELECT * FROM read_parquet($flows, hive_partitioning = true))
        SELECT DISTINCT src_ip FROM (
          SELECT src_ip, day,
                 count(*) FILTER (WHERE state IN ('REJ', 'RSTOS0') OR coalesce(dst_pkts, 0) = 0)
                     AS failed, count(*) AS n
          FROM f WHERE src_ip NOT IN (SELECT unnest($wl)) GROUP BY ALL)
        WHERE failed >= 30 AND failed >= 0.8 * n""",
}


def main() -> None:
    from graphflow.analyses import REGISTRY, analysis_params
    from graphflow.analyses.context import open_context
    from graphflow.hosts import enrich
    from graphflow.ingestion import ingest_files
    from graphflow.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000")
    args = ap.parse_args()
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        gen = OUT / f"conn-{size}"
        if not (gen / "conn.log").exists():
            sys.exit(f"run bench/ingest_bench.py --sizes {size} first")
        ws_dir = OUT / f"ws-analyses-{size}"
        shutil.rmtree(ws_dir, ignore_errors=True)
        ws = Workspace.open(ws_dir)
        ingest_files([gen / "conn.log"], ws)
        enrich(ws, assets=str(gen / "assets.json"), whitelist=str(gen / "whitelist.txt"),
               names=(str(gen / "names.csv"),), default_city_db=False)
        flows = [str(p) for p in ws.flow_files()]
        wl = [line.strip().split("/")[0] for line in (gen / "whitelist.txt").read_text()
              .splitlines() if line.strip() and not line.startswith("#")]
        total = 0.0
        for name in REGISTRY:
            t0 = time.perf_counter()
            with open_context(ws) as ctx:
                found = REGISTRY[name].run(ctx, analysis_params(name))
            ours = time.perf_counter() - t0
            total += ours
            line = f"{size:>11,} flows  {name:<22} {ours:7.2f} s  {len(found):>6} findings"
            if name in DIRECT:
                con = duckdb.connect()
                con.execute("SET enable_progress_bar = false")
                t0 = time.perf_counter()
                ents = {r[0] for r in con.execute(DIRECT[name], {"flows": flows, "wl": wl})
                        .fetchall()}
                ref = time.perf_counter() - t0
                assert ents == {f.entity for f in found}, (name, ents)
                line += f" | DuckDB SQL on flows {ref:6.2f} s  ratio {ours / ref:5.2f}"
            print(line, flush=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>11,} flows  all analyses {total:.1f} s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
