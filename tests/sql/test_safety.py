"""Only one read-only SELECT over the workspace tables runs; everything else is refused with a
clear message, and the locked connection refuses it again if the first check were bypassed.
Time and row limits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from graphflow.sql import SqlError, SqlRefused, SqlTimeout, open_sql, run_sql
from graphflow.workspace import Workspace

REFUSED = {
    "read_csv": ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is not allowed"),
    "read_csv_auto": ("SELECT * FROM read_csv_auto('/etc/passwd')", "not allowed"),
    "read_parquet": ("SELECT * FROM read_parquet('{ws}/flows/*/*.parquet')",
                     "read_parquet() is not allowed"),
    "read_text": ("SELECT content FROM read_text('/etc/hostname')", "read_text() is not allowed"),
    "glob": ("SELECT * FROM glob('/etc/*')", "glob() is not allowed"),
    "file_as_table": ("SELECT * FROM '/etc/passwd'", "is not a workspace table"),
    "file_in_subquery": ("SELECT (SELECT count(*) FROM read_csv('/etc/passwd')) FROM flows",
                         "read_csv() is not allowed"),
    "file_in_cte": ("WITH x AS (SELECT * FROM read_json('/etc/x.json')) SELECT * FROM x",
                    "read_json() is not allowed"),
    "other_catalog": ("SELECT * FROM other.main.flows", "is not a workspace table"),
    "query_fn": ("SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')",
                 "query() is not allowed"),
    "parquet_metadata": ("SELECT * FROM parquet_metadata('/etc/passwd')", "not allowed"),
    "information_schema": ("SELECT * FROM information_schema.tables", "not a workspace table"),
    "pivot": ("PIVOT flows ON proto USING count(*)", "PIVOT"),
    "settings_fn": ("SELECT * FROM duckdb_settings()", "duckdb_settings() is not allowed"),
    "copy_to": ("COPY (SELECT * FROM flows) TO '/tmp/out.csv'", "this statement is COPY"),
    "copy_from": ("COPY flows FROM '/etc/passwd'", "this statement is COPY"),
    "attach": ("ATTACH '/tmp/other.duckdb' AS other", "this statement is ATTACH"),
    "detach": ("DETACH other", "this statement is DETACH"),
    "install": ("INSTALL httpfs", "this statement is LOAD"),
    "load": ("LOAD httpfs", "this statement is LOAD"),
    "pragma": ("PRAGMA version", "this statement is PRAGMA"),
    "set": ("SET enable_external_access = true", "this statement is SET"),
    "reset": ("RESET lock_configuration", "only SELECT"),
    "call": ("CALL pragma_version()", "this statement is CALL"),
    "export": ("EXPORT DATABASE '/tmp/dump'", "this statement is EXPORT"),
    "insert": ("INSERT INTO hosts (ip) VALUES ('1.2.3.4')", "this statement is INSERT"),
    "update": ("UPDATE hosts SET own = true", "this statement is UPDATE"),
    "delete": ("DELETE FROM findings", "this statement is DELETE"),
    "create": ("CREATE TABLE t AS SELECT * FROM flows", "this statement is CREATE"),
    "drop": ("DROP VIEW flows", "this statement is DROP"),
    "alter": ("ALTER VIEW flows RENAME TO f", "this statement is ALTER"),
    "explain": ("EXPLAIN SELECT 1", "this statement is EXPLAIN"),
    "two_statements": ("SELECT 1; DROP VIEW flows", "one statement at a time (got 2)"),
    "select_then_copy": ("SELECT 1; COPY flows TO '/tmp/x.csv'", "one statement at a time"),
    "empty": ("  ", "empty query"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(case: str, tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    query, message = REFUSED[case]
    with pytest.raises(SqlRefused) as info:
        run_sql(ws, query.format(ws=ws.root))
    assert message in str(info.value)
    assert not (tmp_path / "out.csv").exists()


def test_allowed_forms(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    for q in ("WITH x AS (SELECT 1 AS a) SELECT a FROM x", "FROM flows SELECT count(*)",
              "SELECT count(*) FROM range(10)", "SELECT * FROM unnest([1, 2])",
              "DESCRIBE flows", "SELECT count(*) FROM rejects", "SELECT * FROM findings"):
        run_sql(ws, q)
    r = run_sql(ws, "SELECT column_name FROM (DESCRIBE hosts)")
    assert ("ip",) in r.rows


def test_locked_connection_refuses_even_unchecked(sql_ws: tuple[Workspace, Any]) -> None:
    """Defence in depth: bypass check_query and run on the locked connection directly."""
    ws, _ = sql_ws
    con = open_sql(ws)
    try:
        assert con.execute("SELECT count(*) FROM flows").fetchone()[0] > 0  # views still work
        assert con.execute("SELECT count(*) FROM hosts").fetchone()[0] > 0
        for q in ("SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM glob('/etc/*')",
                  "COPY (SELECT 1) TO '/tmp/gf-sql-escape.csv'",
                  "ATTACH '/tmp/gf-sql-escape.duckdb'"):
            with pytest.raises(duckdb.PermissionException):
                con.execute(q)
        for q in ("SET enable_external_access = true", "SET lock_configuration = false",
                  "SET allowed_paths = ['/etc/passwd']"):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(q)
        with pytest.raises(duckdb.Error):
            con.execute("LOAD httpfs")
    finally:
        con.close()
    assert not Path("/tmp/gf-sql-escape.csv").exists()


def test_python_variables_are_not_tables(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    secret_frame = [1, 2, 3]  # noqa: F841 - DuckDB's replacement scan would find it by name
    with pytest.raises(SqlError, match="secret_frame"):
        run_sql(ws, "SELECT * FROM secret_frame")


def test_row_limit_reports_truncation(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    r = run_sql(ws, "SELECT range AS i FROM range(100) ORDER BY i", limit=10)
    assert r.truncated and r.limit == 10
    assert [x[0] for x in r.rows] == list(range(10))
    r = run_sql(ws, "SELECT range AS i FROM range(10)", limit=10)
    assert not r.truncated and len(r.rows) == 10
    with pytest.raises(SqlError, match="limit"):
        run_sql(ws, "SELECT 1", limit=0)


def test_time_limit_interrupts(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    slow = ("SELECT sum(hash(a.range * 31 + b.range)) FROM range(200000) a, "
            "range(200000) b")
    t0 = time.monotonic()
    with pytest.raises(SqlTimeout, match="time limit"):
        run_sql(ws, slow, timeout=0.5)
    assert time.monotonic() - t0 < 10
    assert run_sql(ws, "SELECT 42", timeout=0.5).rows == [(42,)]


def test_parameters(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    assert run_sql(ws, "SELECT $a || 'x' AS v", {"a": "1.2.3.4"}).rows == [("1.2.3.4x",)]
    with pytest.raises(SqlError, match=r"missing parameter\(s\): \$a"):
        run_sql(ws, "SELECT $a")
    with pytest.raises(SqlError, match="has no parameter"):
        run_sql(ws, "SELECT 1", {"b": "2"})
    # a value is data, never SQL
    assert run_sql(ws, "SELECT $a AS v", {"a": "'); DROP VIEW flows; --"}).rows == [
        ("'); DROP VIEW flows; --",)]


def test_syntax_error_is_a_user_error(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    with pytest.raises(SqlError, match="syntax error"):
        run_sql(ws, "SELEC 1")
    with pytest.raises(SqlError, match="nosuch"):
        run_sql(ws, "SELECT nosuch FROM flows")
