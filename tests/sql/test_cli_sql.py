"""``graphflow sql``: table, CSV and JSON output, examples, refusals with exit status 1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from graphflow.cli import main
from graphflow.sql import run_example
from graphflow.workspace import Workspace


def _run(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(main, ["sql", "--workspace", str(ws.root), *args])


def test_json_csv_table(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    q = "SELECT src_ip, count(*) AS n FROM flows GROUP BY 1 ORDER BY n DESC, 1"
    r = _run(ws, q, "--limit", "3", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["columns"] == ["src_ip", "n"] and len(doc["rows"]) == 3 and doc["truncated"]
    r = _run(ws, q, "--limit", "3", "--csv")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["src_ip", "n"] and [x[0] for x in rows[1:]] == [
        x[0] for x in doc["rows"]]
    assert "truncated" in r.stderr
    r = _run(ws, q, "--limit", "3")
    assert r.exit_code == 0 and doc["rows"][0][0] in r.stdout


def test_examples_list_and_run(sql_ws: tuple[Workspace, Any]) -> None:
    ws, _ = sql_ws
    r = _run(ws, "--examples", "--json")
    names = [e["name"] for e in json.loads(r.stdout)["examples"]]
    assert "top_port_scanners" in names
    r = _run(ws, "--example", "top-port-scanners", "--param", "top=2", "--json")
    assert r.exit_code == 0, r.output
    want = run_example(ws, "top_port_scanners", {"top": "2"})
    assert json.loads(r.stdout)["rows"] == [list(x) for x in want.rows]
    r = _run(ws, "--example", "port_volume")
    assert r.exit_code == 1 and "parameter server is required" in r.stderr


def test_refusal_exit_1(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    r = _run(ws, "COPY (SELECT 1) TO '/tmp/gf-cli-escape.csv'")
    assert r.exit_code == 1 and "only SELECT queries run here" in r.stderr
    r = _run(ws, "SELECT * FROM read_csv('/etc/passwd')")
    assert r.exit_code == 1 and "read_csv() is not allowed" in r.stderr
    r = _run(ws, "SELECT 1", "--example", "scan_attempts")
    assert r.exit_code == 2
    q = tmp_path / "q.sql"
    q.write_text("SELECT $x::INT * 2 AS y")
    r = _run(ws, "--file", str(q), "-p", "x=21", "--json")
    assert json.loads(r.stdout)["rows"] == [[42]]
