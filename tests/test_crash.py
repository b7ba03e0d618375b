"""An ingest killed with SIGKILL leaves the workspace as it was; the next ingest is exact."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphflow.ingestion import ingest_files
from graphflow.query import workspace_info
from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv


def snapshot(root: Path) -> dict[str, str]:
    """Every file (and symlink) under root except transient ones, with a content digest."""
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts[:1] == (".staging",):
            continue
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            rel = str(rel_dir / name)
            if rel == ".lock":
                continue
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def visible(root: Path) -> dict[str, str]:
    """What readers see: the current symlink and the files of the current version."""
    cur = root / "current"
    snap = {"current": os.readlink(cur)}
    for p in sorted(cur.resolve().rglob("*")):
        if p.is_file():
            snap[str(p.relative_to(cur.resolve()))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return snap


@pytest.mark.parametrize("point", ["parse", "write", "ledger"])
def test_sigkill_leaves_workspace_unchanged(tmp_path: Path, point: str) -> None:
    ws = tmp_path / "ws"
    first = tmp_path / "first.log"
    first.write_text(zeek_tsv(FLOWS[:2]))
    ingest_files([first], ws)
    second = tmp_path / "second.log"
    second.write_text(zeek_tsv(FLOWS))
    before_all, before_visible = snapshot(ws), visible(ws)
    marker = tmp_path / "reached"
    env = dict(os.environ, GRAPHFLOW_FAULT_POINT=point, GRAPHFLOW_FAULT_FILE=str(marker),
               GRAPHFLOW_FAULT_SLEEP="120")
    proc = subprocess.Popen([sys.executable, "-m", "graphflow", "ingest", "--workspace",
                             str(ws), str(second)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "fault point never reached"
        time.sleep(0.02)
    assert marker.read_text() == point
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # readers see exactly the previous state, even before any recovery
    assert visible(ws) == before_visible
    # the next writer cleans up, after which the whole tree is as it was
    Workspace.open(ws)
    assert snapshot(ws) == before_all
    assert not (ws / ".staging").exists() or not any((ws / ".staging").iterdir())
    r = ingest_files([second], ws)
    assert (r.read, r.loaded, r.duplicates, r.rejected) == (5, 3, 2, 0)
    assert workspace_info(Workspace.open(ws)).flows == 5
