"""The SQL console over HTTP: results as JSON, refusals 403, time limit 408, row limit, the
page itself."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow.sql import run_example
from graphflow.workspace import Workspace
from web import CSP, create_app


@pytest.fixture(scope="module")
def client(sql_ws: tuple[Workspace, Any]) -> Any:
    return create_app(store=sql_ws[0]).test_client()


def test_query_and_limit(client: Any) -> None:
    r = client.post("/api/sql", json={"query": "SELECT dst_port, count(*) AS n FROM flows "
                                               "GROUP BY 1 ORDER BY n DESC, 1", "limit": 3})
    doc = r.get_json()
    assert r.status_code == 200 and doc["ok"]
    res = doc["result"]
    assert res["columns"] == ["dst_port", "n"] and len(res["rows"]) == 3 and res["truncated"]
    r = client.post("/api/sql", json={"query": "SELECT min(ts) AS t FROM flows"})
    assert r.get_json()["result"]["rows"][0][0].endswith("Z")


def test_example_with_params(client: Any, sql_ws: tuple[Workspace, Any]) -> None:
    r = client.post("/api/sql", json={"example": "top_port_scanners", "params": {"top": 3}})
    assert r.status_code == 200, r.get_json()
    want = run_example(sql_ws[0], "top_port_scanners", {"top": "3"})
    assert r.get_json()["result"]["rows"] == [list(x) for x in want.rows]
    ex = client.get("/api/sql/examples").get_json()
    assert {e["name"] for e in ex["examples"]} >= {"scan_attempts", "port_volume"}
    assert "findings" in ex["tables"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"query": "SELECT * FROM read_csv('/etc/passwd')"}, 403, "read_csv() is not allowed"),
    ({"query": "COPY flows TO '/tmp/gf-web-escape.csv'"}, 403, "this statement is COPY"),
    ({"query": "ATTACH '/tmp/x.duckdb'"}, 403, "this statement is ATTACH"),
    ({"query": "INSTALL httpfs"}, 403, "this statement is LOAD"),
    ({"query": "SELECT 1; SELECT 2"}, 403, "one statement at a time"),
    ({"query": "SELECT nosuch FROM flows"}, 400, "nosuch"),
    ({"query": ""}, 400, "query"),
    ({"query": "SELECT 1", "limit": 0}, 400, "limit"),
    ({"query": "SELECT 1", "timeout": 1000}, 400, "timeout"),
    ({"query": "SELECT $a"}, 400, "missing parameter"),
    ({"query": "SELECT $a", "params": {"a": {"x": 1}}}, 400, "params"),
    ({"example": "nope"}, 400, "no example query"),
    ({"example": "port_volume"}, 400, "parameter server is required"),
    ({"query": "SELECT sum(hash(a.range * 7 + b.range)) FROM range(300000) a, range(300000) b",
      "timeout": 0.3}, 408, "time limit"),
])
def test_errors(client: Any, body: dict[str, Any], status: int, message: str) -> None:
    r = client.post("/api/sql", json=body)
    doc = r.get_json()
    assert r.status_code == status and doc["ok"] is False and message in doc["error"], doc


def test_needs_json_and_page(client: Any) -> None:
    assert client.post("/api/sql", data={"query": "SELECT 1"}).status_code == 415
    page = client.get("/sql")
    assert page.status_code == 200 and b'id="sql-form"' in page.data
    assert page.headers["Content-Security-Policy"] == CSP
    assert b'id="nav-sql"' in client.get("/").data
