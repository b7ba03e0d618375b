"""An installed (non-editable) wheel works: top-level packages are ours, Cypher files ship."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("graphflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cypher/schema.cypher" in names and "graphflow/py.typed" in names
    assert not [n for n in names if n.startswith("tests/")]
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    # run from an unrelated directory so that the source tree cannot be imported
    env = dict(os.environ, PYTHONPATH=str(target))
    code = ("import graphflow, ingest, cypher, web, graphflow.analyses, graphflow.generate; "
            f"assert graphflow.__file__.startswith({str(target)!r}), graphflow.__file__; "
            "assert ingest.__graphflow__; "
            "print(cypher.read_cypher('schema')[:2])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("//")
    cli = subprocess.run([sys.executable, "-m", "graphflow", "--help"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert "ingest" in cli.stdout
    listed = subprocess.run([sys.executable, "-m", "graphflow", "analyze", "--list", "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert "fanout_scanners" in listed.stdout
