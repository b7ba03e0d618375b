"""Run every benchmark (``./run bench``)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.argv = [str(here / "ingest_bench.py"), *sys.argv[1:]]
    runpy.run_path(str(here / "ingest_bench.py"), run_name="__main__")
