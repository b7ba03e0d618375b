"""The managed server (graphflow neo4j start|status|stop) and the connection rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphflow.cli import main
from graphflow.errors import StoreUnavailable
from graphflow.neo4j_server import ServerState, free_port, server_status, state_file
from graphflow.stores.neo4j import Neo4jStore, resolve_target


def test_nothing_configured(tmp_path: Path) -> None:
    env = {"GRAPHFLOW_HOME": str(tmp_path)}
    with pytest.raises(StoreUnavailable, match="graphflow neo4j start"):
        resolve_target(env=env)


def test_stale_state_file(tmp_path: Path) -> None:
    env = {"GRAPHFLOW_HOME": str(tmp_path)}
    state_file(env).write_text(json.dumps(ServerState(
        pid=2 ** 22 + 7, uri="bolt://127.0.0.1:1", port=1, data_dir=str(tmp_path),
        log_file="x").to_dict()))
    with pytest.raises(StoreUnavailable, match="not running any more"):
        resolve_target(env=env)


def test_unreachable_uri(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot reach Neo4j"):
        Neo4jStore.open(f"bolt://127.0.0.1:{free_port()}", env={})
    with pytest.raises(StoreUnavailable, match="bad Neo4j URI"):
        Neo4jStore.open("http//nowhere", env={})


def test_cli_unreachable_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    res = CliRunner().invoke(main, ["cypher", "RETURN 1"])
    assert res.exit_code == 1
    assert "no Neo4j to talk to" in res.stderr and "Traceback" not in res.output


def test_env_and_option_precedence() -> None:
    env = {"NEO4J_URI": "bolt://env:7687", "NEO4J_USER": "u", "NEO4J_PASSWORD": "p"}
    t = resolve_target(env=env)
    assert (t.uri, t.auth, t.source) == ("bolt://env:7687", ("u", "p"), "NEO4J_URI")
    t = resolve_target("bolt://opt:7687", "me", "secret", env=env)
    assert (t.uri, t.auth, t.source) == ("bolt://opt:7687", ("me", "secret"), "--neo4j")


def test_start_status_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole user path: start in the background, connect without options, stop."""
    monkeypatch.setenv("GRAPHFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    runner = CliRunner()
    res = runner.invoke(main, ["neo4j", "start", "--port", "0", "--data",
                               str(tmp_path / "data"), "--page-cache", "64m", "--json"])
    assert res.exit_code == 0, res.output
    started = json.loads(res.stdout)
    try:
        assert started["started"] and started["uri"].startswith("bolt://127.0.0.1:")
        st = server_status()
        assert st.running and st.reachable and st.state is not None
        assert st.state.uri == started["uri"]
        # a second start leaves the running server alone
        again = runner.invoke(main, ["neo4j", "start", "--json"])
        assert json.loads(again.stdout)["started"] is False
        # commands find it without --neo4j or NEO4J_URI
        res = runner.invoke(main, ["cypher", "RETURN 41 + 1 AS answer", "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["rows"] == [{"answer": 42}]
        res = runner.invoke(main, ["neo4j", "status", "--json"])
        assert json.loads(res.stdout)["running"] is True
    finally:
        res = runner.invoke(main, ["neo4j", "stop", "--json"])
    assert json.loads(res.stdout)["stopped"] is True
    assert not server_status().running and not state_file().exists()
    log = Path(started["log_file"]).read_text()
    assert "graphflow-neo4j stopped" in log  # clean shutdown on SIGTERM
    res = runner.invoke(main, ["neo4j", "status"])
    assert "not running" in res.stdout
