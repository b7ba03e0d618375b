"""Every command takes --json and prints exactly one JSON document; exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphflow.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _args(name: str, tmp: Path, conn_log: Path) -> list[str]:
    ws = ["--workspace", str(tmp / "ws")]
    return {
        "ingest": ["ingest", str(conn_log), *ws],
        "info": ["info", *ws],
        "flows": ["flows", "--host", "10.10.0.0/24", *ws],
        "graph": ["graph", "--port", "23", *ws],
        "generate": ["generate", "-o", str(tmp / "gen"), "--days", "8",
                     "--flows-per-day", "300"],
        "demo": ["demo", "--data", str(tmp / "demo"), "--days", "8", "--flows-per-day", "300",
                 *ws],
        "schema": ["schema"],
        "analyze": ["analyze", "--list"],
        "enrich": ["enrich", "--no-default-city-db", *ws], "hosts": ["hosts", *ws],
        "assets": ["assets", "show", *ws], "sets": ["sets", "list", *ws],
    }[name]


#: commands whose JSON is tested here; the others (neo4j, export, serve...) in their own suites
CORE = {"ingest", "info", "flows", "graph", "generate", "demo", "schema", "analyze", "enrich",
        "hosts", "assets", "sets"}


@pytest.mark.parametrize("name", sorted(CORE))
def test_every_command_json(runner: CliRunner, tmp_path: Path, conn_log: Path,
                            name: str) -> None:
    if name not in ("ingest", "generate", "demo", "schema", "analyze") and name in CORE:
        assert runner.invoke(main, ["ingest", str(conn_log), "--workspace",
                                    str(tmp_path / "ws")]).exit_code == 0
    result = runner.invoke(main, [*_args(name, tmp_path, conn_log), "--json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    json.loads(result.stdout)  # exactly one document, nothing else on stdout


def test_ingest_json_shape(runner: CliRunner, tmp_path: Path, conn_log: Path) -> None:
    r = runner.invoke(main, ["ingest", str(conn_log), "--workspace", str(tmp_path / "ws"),
                             "--json"])
    doc = json.loads(r.stdout)
    assert {k: doc[k] for k in ("read", "loaded", "duplicates", "rejected")} == {
        "read": 5, "loaded": 5, "duplicates": 0, "rejected": 0}
    assert doc["rejects_file"] is None and len(doc["files"]) == 1
    r = runner.invoke(main, ["info", "--workspace", str(tmp_path / "ws"), "--json"])
    info = json.loads(r.stdout)
    assert {k: info[k] for k in ("flows", "hosts", "edges")} == {"flows": 5, "hosts": 7,
                                                                   "edges": 5}
    assert info["first_seen"] == "2026-03-02T08:00:00.000001Z"


def test_flows_show_provenance(runner: CliRunner, tmp_path: Path, conn_log: Path) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(main, ["ingest", str(conn_log), *ws])
    r = runner.invoke(main, ["flows", "--host", "203.0.113.7", "--json", *ws])
    doc = json.loads(r.stdout)
    assert doc["count"] == 2
    assert [(f["source_file"], f["source_line"]) for f in doc["flows"]] == [
        (str(conn_log), 10), (str(conn_log), 11)]
    r = runner.invoke(main, ["flows", "--from", "2026-03-03", "--proto", "udp", "--json", *ws])
    assert [f["src_ip"] for f in json.loads(r.stdout)["flows"]] == ["2001:db8::5"]


def test_graph_saves_graphml(runner: CliRunner, tmp_path: Path, conn_log: Path) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(main, ["ingest", str(conn_log), *ws])
    out = tmp_path / "g.graphml"
    r = runner.invoke(main, ["graph", "--host", "10.10.0.10", "-o", str(out), "--json", *ws])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["edge_count"] == 2 and len(doc["edges"]) == 2
    assert "<graphml" in out.read_text()


def test_user_error_exit_1_one_line(runner: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    r = runner.invoke(main, ["ingest", str(junk), "--workspace", str(tmp_path / "ws")])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "unrecognised format" in r.stderr
    r = runner.invoke(main, ["info", "--workspace", str(tmp_path / "nowhere")])
    assert r.exit_code == 1 and "no GraphFlow workspace" in r.stderr
    assert "Traceback" not in r.output


def test_usage_error_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(main, ["ingest"]).exit_code == 2
    assert runner.invoke(main, ["flows", "--port", "99999"]).exit_code == 2
    assert runner.invoke(main, ["no-such-command"]).exit_code == 2


def test_analyze_commands_json_and_drilldown(runner: CliRunner, tmp_path: Path,
                                             conn_log: Path) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    runner.invoke(main, ["ingest", str(conn_log), *ws])
    from graphflow.analyses import REGISTRY

    for name in REGISTRY:
        r = runner.invoke(main, ["analyze", name.replace("_", "-"), "--json", *ws])
        assert r.exit_code == 0, (name, r.output)
        assert isinstance(json.loads(r.stdout), list)
        r = runner.invoke(main, ["analyze", name.replace("_", "-"), "--explain"])
        assert r.exit_code == 0 and len(r.stdout) > 100
    r = runner.invoke(main, ["analyze", "syn-only-scans", "--min-flows", "2", "--min-ratio",
                             "0.5", "--json", *ws])
    found = json.loads(r.stdout)
    assert [f["entity"] for f in found] == ["203.0.113.7"]
    r = runner.invoke(main, ["flows", "--finding", found[0]["id"], "--json", *ws])
    assert [f["source_line"] for f in json.loads(r.stdout)["flows"]] == [10, 11]
    r = runner.invoke(main, ["analyze", "syn-only-scans", "--min-flows", "nope", *ws])
    assert r.exit_code == 2
    r = runner.invoke(main, ["analyze", "--list", "--json"])
    names = {a["name"] for a in json.loads(r.stdout)}
    assert names == set(REGISTRY)


def test_demo_on_your_own_files(runner: CliRunner, tmp_path: Path, conn_log: Path) -> None:
    """``demo --files`` ingests the given files instead of generating data, runs every
    analysis and reports a bad file as an error without a traceback."""
    bad = tmp_path / "bad.log"
    bad.write_text("garbage line\n")
    ws = ["--workspace", str(tmp_path / "ws")]
    r = runner.invoke(main, ["demo", "--files", str(conn_log), "--files", str(bad),
                             "--data", str(tmp_path / "gen"), "--json", *ws])
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and "unrecognised format" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["generate"]["flows"] is None and doc["generate"]["files"] == [str(conn_log),
                                                                            str(bad)]
    info = json.loads(runner.invoke(main, ["info", "--json", *ws]).stdout)
    assert doc["ingest"]["loaded"] == info["flows"] > 0
    assert "fanout_scanners" in doc["findings"] and not (tmp_path / "gen").exists()
