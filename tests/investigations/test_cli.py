"""``graphflow investigation``: save, list, show, export, delete, import (exit codes too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from graphflow.cli import main
from graphflow.workspace import Workspace


def _run(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(main, ["investigation", *args, "--workspace", str(ws.root)])


def test_cli_round_trip(ws: Workspace, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {element: node, color: red, when: {field: hva, equals: true}}\n")
    r = _run(ws, "save", "SSH from outside", "--view",
             "http://127.0.0.1:8050/?port=22&scope=cross&color=rules", "--notes", "n1",
             "--rules", str(rules), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["url"] == "/?port=22&scope=cross&color=rules&inv=ssh-from-outside"
    assert doc["styling"]["rules"]["rules"][0]["color"] == "red"
    r = _run(ws, "list", "--json")
    assert [i["slug"] for i in json.loads(r.stdout)["investigations"]][0] == "ssh-from-outside"
    out = tmp_path / "inv.yaml"
    assert _run(ws, "export", "--format", "yaml", "-o", str(out)).exit_code == 0
    assert _run(ws, "delete", "ssh-from-outside").exit_code == 0
    assert _run(ws, "show", "ssh-from-outside").exit_code == 1
    r = _run(ws, "import", str(out), "--json")
    assert r.exit_code == 0, r.output
    r = _run(ws, "show", "SSH from outside", "--json")
    back = json.loads(r.stdout)
    assert {k: back[k] for k in ("filters", "styling", "notes", "url")} == {
        k: doc[k] for k in ("filters", "styling", "notes", "url")}
    r = _run(ws, "import", str(out))
    assert r.exit_code == 1 and "already saved" in r.stderr


def test_cli_refuses_bad_input(ws: Workspace, tmp_path: Path) -> None:
    r = _run(ws, "save", "x", "--view", "?nope=1")
    assert r.exit_code == 1 and "not a graph view parameter" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("investigations:\n  - name: x\n    filters: {port: [{a: 1}]}\n")
    r = _run(ws, "import", str(bad))
    assert r.exit_code == 1 and "filters.port[0]" in r.stderr
    r = _run(ws, "delete", "policy-violations")
    assert r.exit_code == 1 and "built-in" in r.stderr
