"""The graph model stays in step with the edge model (no Neo4j needed)."""

from __future__ import annotations

import datetime as dt

import duckdb

from cypher import read_cypher
from graphflow.schema import EDGE_FIELDS
from graphflow.stores.neo4j import (
    EDGE_KEY_SQL,
    EDGE_PROPERTIES,
    HOST_PROPERTIES,
    edge_key,
    schema_statements,
)


def test_load_cypher_names_every_edge_field() -> None:
    text = read_cypher("load_edges")
    for name in EDGE_PROPERTIES:
        assert f"{name}:" in text, name
    assert EDGE_PROPERTIES == tuple(f.name for f in EDGE_FIELDS
                                    if f.name not in ("src_ip", "dst_ip"))


def test_schema_documents_every_property() -> None:
    text = read_cypher("schema")
    for name in (*EDGE_PROPERTIES, *HOST_PROPERTIES, "key"):
        assert name in text, name
    statements = schema_statements()
    assert any("REQUIRE r.key IS UNIQUE" in s for s in statements)  # relationship key
    assert any("REQUIRE h.ip IS UNIQUE" in s for s in statements)
    assert all(s.startswith("CREATE") and "IF NOT EXISTS" in s for s in statements)


def test_sql_key_equals_python_key() -> None:
    con = duckdb.connect()
    rows = [(dt.date(2026, 3, 2), "10.0.0.1", "2001:db8::1", 443, "tcp"),
            (dt.date(2026, 3, 3), "10.0.0.1", "10.0.0.2", None, "icmp")]
    for row in rows:
        got = con.execute(
            f"SELECT {EDGE_KEY_SQL} FROM (SELECT ?::DATE AS day, ? AS src_ip, ? AS dst_ip, "
            "?::USMALLINT AS dst_port, ? AS proto)", list(row)).fetchall()[0][0]
        assert got == edge_key(*row)
