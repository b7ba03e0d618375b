"""Fixtures for the export tests: AfterGlow reference data, a small workspace with a hostile
DNS name in its hosts table, and the real tools (Graphviz dot, Gephi's importer)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphflow.ingestion import ingest_files
from graphflow.schema import HOST_SCHEMA
from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv

HERE = Path(__file__).resolve().parent
AFTERGLOW = Path(__file__).resolve().parents[3] / "shared" / "afterglow"
if not AFTERGLOW.exists():
    AFTERGLOW = Path(os.environ.get("GRAPHFLOW_SHARED", "../shared")).resolve() / "afterglow"
GEPHI_CHECK = HERE / "gephi-check"

#: quotes, commas, angle brackets, backslashes, line breaks, non-ASCII, a GDF field end,
#: an XML entity and a Graphviz escape: one DNS name that must not break any file
HOSTILE = 'ev"il,<b>&amp;\\N \\ name\nline2 caf\u00e9 \u5317\u4eac ",x \'end\\'


@pytest.fixture(scope="session")
def dot_exe() -> str:
    exe = shutil.which("dot")
    if exe is None:
        pytest.fail("Graphviz 'dot' is not installed: run scripts/setup.d/40-exports.sh")
    return exe


@pytest.fixture(scope="session")
def render(dot_exe: str) -> Callable[[Path], None]:
    """Render a DOT file to SVG and PNG with the real dot; any error or warning fails."""

    def run(path: Path) -> None:
        for fmt in ("svg", "png"):
            proc = subprocess.run([dot_exe, f"-T{fmt}", str(path), "-o",
                                   str(path.with_suffix("." + fmt))],
                                  capture_output=True, text=True, check=False)
            assert proc.returncode == 0 and not proc.stderr.strip(), \
                f"dot -T{fmt} {path}: exit {proc.returncode}: {proc.stderr}"

    return run


@pytest.fixture(scope="session")
def gephi() -> Callable[..., dict[str, Any]]:
    """Import files with Gephi's own importer (gephi-toolkit), headless; JSON per file."""
    classes = GEPHI_CHECK / "target" / "classes"
    libs = GEPHI_CHECK / "target" / "lib"
    java = shutil.which("java")
    if java is None or not classes.exists() or not any(libs.glob("*.jar")):
        pytest.fail("the Gephi checker is not built: run scripts/setup.d/40-exports.sh")
    cp = os.pathsep.join([str(classes), str(libs / "*")])

    def run(*paths: Path) -> dict[str, Any]:
        proc = subprocess.run([java, "-Djava.awt.headless=true", "-Xmx1g", "-cp", cp,
                               "graphflow.GephiCheck", *map(str, paths)],
                              capture_output=True, text=True, check=False, timeout=600)
        assert proc.returncode == 0, f"Gephi checker failed: {proc.stderr[-3000:]}"
        doc: dict[str, Any] = json.loads(proc.stdout)
        return doc

    return run


def _hosts(ips: list[str]) -> pa.Table:
    rows = []
    for ip in ips:
        v6 = ":" in ip
        rows.append({
            "ip": ip, "ip_version": 6 if v6 else 4, "own": ip.startswith("10."),
            "hva": ip == "10.10.0.10", "role": "ssh-server" if ip == "10.10.0.10" else None,
            "name": None, "owner": None, "criticality": None, "whitelisted": False,
            "country": None if ip.startswith("10.") else "NL", "country_name": None,
            "city": None, "asn": None if ip.startswith("10.") else 64500, "as_org": None,
            "dns": [HOSTILE, "second.example"] if ip == "203.0.113.7" else
            (["host.example"] if ip == "10.10.0.10" else None),
            "domain": None, "address_class": "private" if ip.startswith("10.") else "public",
        })
    return pa.Table.from_pylist(rows, schema=HOST_SCHEMA)


@pytest.fixture(scope="session")
def export_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The five reference flows, ingested, plus a hosts table (as enrichment writes it)."""
    d = tmp_path_factory.mktemp("export-ws")
    log = d / "conn.log"
    log.write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(d / "ws")
    ingest_files([log], ws)
    ips = sorted({f["id.orig_h"] for f in FLOWS} | {f["id.resp_h"] for f in FLOWS})
    hosts = ws.version_dir / "hosts"
    hosts.mkdir(exist_ok=True)
    for old in hosts.glob("*.parquet"):  # ingest may have built one already
        old.unlink()
    pq.write_table(_hosts(ips), hosts / "hosts.parquet")
    return ws


@pytest.fixture(scope="session")
def plain_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The same flows without a hosts table (nodes derived from edges)."""
    d = tmp_path_factory.mktemp("plain-ws")
    log = d / "conn.log"
    log.write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(d / "ws")
    ingest_files([log], ws)
    for old in (ws.version_dir / "hosts").glob("*.parquet"):
        old.unlink()
    return ws
