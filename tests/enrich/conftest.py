"""Fixtures of the enrichment tests: one generated network (with its dns.log) and a workspace
holding its flows, built once per session and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import graphflow.cli  # noqa: F401  - registers the CLI modules before cli_enrich is imported
from graphflow.ingestion import ingest_files
from graphflow.synth.decoys import lookalikes, near_misses
from graphflow.synth.dns import write_dns_log
from graphflow.synth.generator import generate
from graphflow.synth.model import GeneratorConfig
from graphflow.synth.network import build_world
from graphflow.synth.positives import POSITIVES
from graphflow.workspace import Workspace

GEOIP = Path(__file__).resolve().parents[3] / "shared" / "geoip"
if not GEOIP.exists():  # CI clones next to shared/
    GEOIP = (Path.cwd().parent / "shared" / "geoip").resolve()

CONFIG = GeneratorConfig(seed=42, days=8, flows_per_day=2000)


def write_generated_dns(cfg: GeneratorConfig, out: Path) -> Path:
    """The generator's dns.log: its own if it writes one, else written from the same world
    (laid out and planted exactly as ``generate`` does)."""
    path = out / "dns.log"
    if not path.exists():
        world = build_world(cfg)
        for scenario in POSITIVES:
            scenario(world)
        near_misses(world)
        lookalikes(world)
        write_dns_log(world, out)
    return path


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(CONFIG, out)
    write_generated_dns(CONFIG, out)
    return out


@pytest.fixture(scope="session")
def _ws_template(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("wstpl") / "ws"
    report = ingest_files([generated / "conn.log"], ws)
    assert report.loaded > 10_000
    return ws


@pytest.fixture
def gen_ws(_ws_template: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the workspace holding the generated flows."""
    dest = tmp_path / "ws"
    shutil.copytree(_ws_template, dest, symlinks=True)
    return Workspace.open(dest, create=False)
