"""A load killed with SIGKILL halfway, then run again, gives the exact graph."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import neo4j

from graphflow.stores.neo4j import graph_counts, load_workspace, run_cypher_file
from graphflow.workspace import Workspace
from tests.neo4j.test_load import embedded_counts


def _edges(driver: neo4j.Driver) -> int:
    recs, _, _ = driver.execute_query("MATCH ()-[r:FLOW]->() RETURN count(r) AS n")
    return int(recs[0]["n"])


def test_sigkill_halfway_then_rerun(driver: neo4j.Driver, neo4j_uri: str,
                                    generated_ws: Workspace) -> None:
    expected = embedded_counts(generated_ws)
    env = dict(os.environ, GRAPHFLOW_WORKSPACE=str(generated_ws.root))
    env.pop("NEO4J_URI", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphflow", "load", "--neo4j", neo4j_uri, "--batch-size", "100"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while _edges(driver) < expected.edges // 2:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "load made no progress"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    at_kill = _edges(driver)
    assert 0 < at_kill < expected.edges  # really cut short
    done = {r["part"] for r in run_cypher_file(driver, "load_status")}
    report = load_workspace(driver, generated_ws, batch_size=1000)
    assert set(report.parts_skipped) == done  # finished parts are not written again
    assert report.parts_loaded  # the interrupted part (at least) is
    assert graph_counts(driver) == expected
