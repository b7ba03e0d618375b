"""Run benchmarks (``./run bench [NAME ...] [-- ARGS]``): NAME is one of ingest, readers,
enrich, analyses, exports, neo4j, web (default: ingest then analyses)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    args = sys.argv[1:]
    extra = args[args.index("--") + 1:] if "--" in args else []
    names = (args[:args.index("--")] if "--" in args else args) or ["ingest", "analyses"]
    for name in names:
        script = here / f"{name}_bench.py"
        if not script.exists():
            known = ", ".join(sorted(p.stem[:-6] for p in here.glob("*_bench.py")))
            sys.exit(f"no benchmark {name!r} (known: {known})")
        sys.argv = [str(script), *extra]
        runpy.run_path(str(script), run_name="__main__")
