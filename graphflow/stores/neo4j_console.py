"""The read-only Cypher console: user queries with a time limit and a row limit, never a write.

Two guards. The real one is the server: every query runs in an explicit transaction opened in
READ access mode, which Neo4j refuses to write in (procedures that write included), and that
transaction is rolled back, never committed. Before that, :func:`check_read_only` looks for
write clauses (outside comments, strings and quoted names) so that the usual cases get a clear
message without a round trip.

Examples
--------
>>> check_read_only("MATCH (h:Host) WHERE h.ip = 'CREATE' RETURN h // SET")
>>> check_read_only("/* hi */ MERGE (h:Host {ip: $ip})")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
graphflow.stores.neo4j_console.WriteRefused: the Cypher console is read-only: MERGE is a ...
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import neo4j
import neo4j.exceptions

from graphflow.errors import GraphFlowError
from graphflow.stores.neo4j import _cypher, to_python

__all__ = ["ConsoleResult", "WriteRefused", "check_read_only", "run_read_only"]

DEFAULT_LIMIT = 1000
DEFAULT_TIMEOUT = 30.0


class WriteRefused(GraphFlowError):
    """The read-only console was asked to write."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"the Cypher console is read-only: {what}")


# comments, string literals and `quoted names`, removed before looking for clauses
_NOISE = re.compile(r"//[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`",
                    re.S)
# a clause keyword: not part of a name, a property (.set), a label (:Create) or a parameter
_WRITE = re.compile(
    r"(?<![\w.:$])(DETACH\s+DELETE|CREATE|MERGE|SET|DELETE|REMOVE|FOREACH|LOAD\s+CSV|"
    r"IN\s+(?:\d+\s+)?(?:CONCURRENT\s+)?TRANSACTIONS|DROP|ALTER|RENAME|GRANT|DENY|REVOKE|"
    r"START\s+DATABASE|STOP\s+DATABASE)(?![\w])", re.I)


def check_read_only(query: str) -> None:
    """Raise :class:`WriteRefused` if ``query`` has a write clause; a pre-check only."""
    m = _WRITE.search(_NOISE.sub(" ", query))
    if m:
        clause = " ".join(m.group(1).upper().split())
        if clause.startswith("IN "):
            clause = "CALL { ... } IN TRANSACTIONS"
        raise WriteRefused(f"{clause} is a write clause")


@dataclass(frozen=True)
class ConsoleResult:
    """Columns, rows (at most ``limit``), whether more rows were cut off, and the time taken."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows, "count": len(self.rows),
                "truncated": self.truncated, "seconds": round(self.seconds, 3)}


def run_read_only(driver: neo4j.Driver, query: str, params: Mapping[str, Any] | None = None,
                  *, limit: int = DEFAULT_LIMIT, timeout: float = DEFAULT_TIMEOUT,
                  database: str | None = None, precheck: bool = True) -> ConsoleResult:
    """Run a user's query read-only: READ access mode, ``timeout`` seconds, ``limit`` rows
    (0 = no limit), then roll back. ``precheck=False`` leaves the refusal to the server alone
    (tests use it to prove the server guard)."""
    if precheck:
        check_read_only(query)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    truncated = False
    try:
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as s:
            tx = s.begin_transaction(timeout=timeout)
            try:
                result = tx.run(_cypher(query), dict(params or {}))
                columns = list(result.keys())
                for rec in result:
                    if limit and len(rows) >= limit:
                        truncated = True
                        break
                    rows.append(dict(zip(columns, map(to_python, rec.values()), strict=True)))
            finally:
                if not tx.closed():
                    with contextlib.suppress(neo4j.exceptions.DriverError,
                                             neo4j.exceptions.Neo4jError):
                        tx.rollback()
    except neo4j.exceptions.Neo4jError as exc:
        raise _translate(exc, timeout) from None
    return ConsoleResult(columns, rows, truncated, time.perf_counter() - t0)


def _translate(exc: neo4j.exceptions.Neo4jError, timeout: float) -> GraphFlowError:
    code = exc.code or ""
    message = exc.message or str(exc)
    if "AccessMode" in code or "read access mode" in message.lower() or (
            "Forbidden" in code and "write" in message.lower()):
        return WriteRefused(f"the server refused a write ({message.splitlines()[0]})")
    if "TransactionTimedOut" in code or "Terminated" in code:
        return GraphFlowError(f"Cypher query stopped at the time limit of {timeout:g} s "
                              "(raise it with --timeout)")
    if "IN TRANSACTIONS" in message or "implicit transaction" in message:
        return WriteRefused("CALL { ... } IN TRANSACTIONS is a write clause")
    return GraphFlowError(f"Cypher error ({code}): {message}")
