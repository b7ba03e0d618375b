"""The graph every export writes: a node table, an edge table and their active days.

:func:`build_graph` turns a :class:`Selection` over a workspace into an :class:`ExportGraph`
of Arrow tables, entirely in DuckDB: edges come from :func:`graphflow.query.select_edges`
(per host pair, or per pair and port/protocol), nodes are their endpoints with degree and
traffic figures, joined to the hosts table (``<workspace>/hosts/*.parquet``, written by
``graphflow enrich``) when there is one, and, for time-aware formats, the days each node and
edge was active, merged into runs of consecutive days.

Tables (names follow the canonical schema):

* ``nodes``: ``id`` (the IP), ``label``, ``ip_version``, the host attributes when enriched
  (``own hva role name owner criticality whitelisted country country_name city asn as_org
  dns domain address_class``; ``dns`` joined with ``;``), ``degree`` (= ``out_degree`` +
  ``in_degree``: distinct hosts it sent to, and received from), ``flows``, ``bytes_out``,
  ``bytes_in``, ``bytes``, ``first_seen``, ``last_seen``;
* ``edges``: ``source``, ``target``, ``label`` (``tcp/22``; per pair: the top ports, e.g.
  ``tcp/22 tcp/80 +3``), ``dst_port`` and ``proto`` (per port), ``flows`` (the weight, summed
  over the selection), ``src_bytes dst_bytes src_pkts dst_pkts first_seen last_seen s0_flows
  rej_flows syn_only_flows days``;
* ``node_spells`` / ``edge_spells``: ``id`` or ``edge`` (row number), ``start``, ``end``
  (dates; a run of active days is ``[first day, last day + 1)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.db import connect, fetch_arrow
from graphflow.edges import coarsen_sql
from graphflow.exports.base import row_numbers
from graphflow.exports.selection import Selection, restrict
from graphflow.query import select_edges
from graphflow.schema import HOST_FIELDS
from graphflow.workspace import Workspace

__all__ = ["ExportGraph", "build_graph", "hosts_files"]

#: Host attributes carried onto nodes (HOST_FIELDS minus the key and the version).
NODE_HOST_COLUMNS = tuple(f.name for f in HOST_FIELDS if f.name not in ("ip", "ip_version"))
#: How many ports a per-pair edge label lists before "+N".
LABEL_PORTS = 3
#: DuckDB memory for building an export: the per-pair port lists of a few million pairs do not
#: fit the 1 GB the ingest uses (and list aggregates cannot spill to disk).
MEMORY_LIMIT = "4GB"


@dataclass
class ExportGraph:
    """Nodes and edges as Arrow tables, ready for any writer (see the module docstring)."""

    nodes: pa.Table
    edges: pa.Table
    node_spells: pa.Table | None = None
    edge_spells: pa.Table | None = None
    per_port: bool = False
    title: str = "GraphFlow"

    def replace(self, **changes: Any) -> ExportGraph:
        return dataclasses.replace(self, **changes)


def hosts_files(ws: Workspace) -> list[Path]:
    """The hosts table's Parquet files, if ``graphflow enrich`` has written one."""
    for base in (ws.version_dir / "hosts", ws.root / "hosts"):
        if base.is_dir():
            files = sorted(base.rglob("*.parquet"))
            if files:
                return files
    return []


def _port_filters(sel: Selection) -> tuple[list[str], list[Any]]:
    """The day window, port and protocol conditions of select_edges, for edge-day rows ``e``."""
    flt = sel.flt
    clauses: list[str] = []
    params: list[Any] = []
    if flt.start is not None:
        clauses.append("e.day >= CAST(? AS DATE)")
        params.append(flt.start)
    if flt.end is not None:
        clauses.append("e.day <= CAST(? AS DATE)")
        params.append(flt.end)
    if flt.ports:
        clauses.append("list_contains(?, CAST(e.dst_port AS INTEGER))")
        params.append(list(flt.ports))
    if flt.protos:
        clauses.append("list_contains(?, e.proto)")
        params.append([p.lower() for p in flt.protos])
    return clauses, params


def _key_join(per_port: bool) -> str:
    pair = "e.src_ip = s.source AND e.dst_ip = s.target"
    if not per_port:
        return pair
    return pair + " AND e.proto = s.proto AND e.dst_port IS NOT DISTINCT FROM s.dst_port"


def _detail_sql(sel: Selection, what: str) -> tuple[str, list[Any]]:
    """SQL over the workspace's edge-day rows behind the selected edges (relation ``sel``)."""
    clauses, params = _port_filters(sel)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    keys = "s.edge" if what == "edge" else "s.source, s.target"
    sql = (f"SELECT {keys}, e.day, e.dst_port, e.proto, e.flows FROM edges e "  # noqa: S608 - identifiers from constants, values as parameters
           f"JOIN sel s ON {_key_join(sel.per_port)}{where}")
    return sql, params


def _labels_sql(detail: str) -> str:
    """SQL for ``lab(source, target, label)``: per pair of the edge-day rows ``detail``
    (``source target dst_port proto flows``), its busiest ports (``tcp/22 tcp/80 +3``; ties by
    port name).

    The top ports come from ``arg_max(port, key, n)`` with ``key`` = flows then port-name rank
    packed into one HUGEINT: one hash aggregate, no per-pair sorted list."""
    n = LABEL_PORTS
    return f"""
pp AS (SELECT source, target, coalesce(proto || '/' || CAST(dst_port AS VARCHAR), proto)
              AS port, sum(flows) AS f FROM ({detail}) GROUP BY ALL),
rk AS (SELECT port, CAST(row_number() OVER (ORDER BY port DESC) AS HUGEINT) AS rk
       FROM (SELECT DISTINCT port FROM pp)),
lab AS (SELECT source, target,
               array_to_string(arg_max(port, CAST(f AS HUGEINT) * 4294967296 + rk, {n}), ' ')
               || CASE WHEN count(*) > {n} THEN ' +' || CAST(count(*) - {n} AS VARCHAR)
                       ELSE '' END AS label
        FROM pp JOIN rk USING (port) GROUP BY source, target)"""  # noqa: S608 - built from constants


def _pair_labels(con: duckdb.DuckDBPyConnection, sel: Selection) -> pa.ChunkedArray:
    """Per pair of ``sel``, its busiest ports, aligned with ``sel``'s rows."""
    detail, params = _detail_sql(sel, "pair")
    sql = (f"WITH {_labels_sql(detail)} SELECT lab.label FROM sel s "  # noqa: S608 - built from constants
           "LEFT JOIN lab USING (source, target) ORDER BY s.edge")
    return fetch_arrow(con, sql, params).column("label")


def _all_pairs(con: duckdb.DuckDBPyConnection, sel: Selection, limit: int | None) -> pa.Table:
    """The per-pair edges of a selection without a host filter, labels included, in one
    query: what ``select_edges(per_port=False)`` returns (same rows, columns and order) with
    ``source``/``target`` names and ``label`` third, without a second pass to join labels."""
    clauses, params = _port_filters(sel)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    detail = "SELECT src_ip AS source, dst_ip AS target, dst_port, proto, flows FROM e"
    lim = f" LIMIT {int(limit)}" if limit else ""
    sql = f"""
WITH e AS (SELECT * FROM edges e{where}), pr AS ({coarsen_sql(False)}), {_labels_sql(detail)}
SELECT pr.src_ip AS source, pr.dst_ip AS target, lab.label, pr.* EXCLUDE (src_ip, dst_ip)
FROM pr LEFT JOIN lab ON lab.source = pr.src_ip AND lab.target = pr.dst_ip
ORDER BY pr.flows DESC, pr.src_ip, pr.dst_ip{lim}
"""  # noqa: S608 - built from constants, values as parameters
    return fetch_arrow(con, sql, params)


def _spells(con: duckdb.DuckDBPyConnection, sel: Selection) -> tuple[pa.Table, pa.Table]:
    detail, params = _detail_sql(sel, "edge")
    days = f"CREATE TEMP TABLE edge_days AS SELECT DISTINCT edge, day FROM ({detail})"  # noqa: S608 - identifiers from constants, values as parameters
    con.execute(days, params)
    runs = """
SELECT {key}, min(day) AS start, CAST(max(day) + 1 AS DATE) AS "end" FROM (
  SELECT {key}, day, day - CAST(row_number() OVER (PARTITION BY {key} ORDER BY day) AS INTEGER)
         AS grp FROM ({rows}))
GROUP BY {key}, grp ORDER BY {key}, start
"""
    edge_spells = fetch_arrow(con, runs.format(key="edge", rows="SELECT * FROM edge_days"))
    node_days = ("SELECT DISTINCT unnest([s.source, s.target]) AS id, d.day "
                 "FROM edge_days d JOIN sel s USING (edge)")
    node_spells = fetch_arrow(con, runs.format(key="id", rows=node_days))
    return node_spells, edge_spells


def _nodes(con: duckdb.DuckDBPyConnection, ws: Workspace, per_port: bool) -> pa.Table:
    # per pair, the rows of sel are the distinct pairs: degrees are plain counts
    peers = "count(DISTINCT peer)" if per_port else "count(*)"
    stats = f"""
WITH ends AS (
  SELECT source AS id, target AS peer, 1 AS out_e, flows, src_bytes AS bytes_out,
         dst_bytes AS bytes_in, first_seen, last_seen FROM sel
  UNION ALL
  SELECT target, source, 0, flows, dst_bytes, src_bytes, first_seen, last_seen FROM sel),
tot AS (SELECT id, {peers} FILTER (WHERE out_e = 1)::BIGINT AS out_degree,
               {peers} FILTER (WHERE out_e = 0)::BIGINT AS in_degree,
               sum(flows)::BIGINT AS flows, sum(bytes_out)::BIGINT AS bytes_out,
               sum(bytes_in)::BIGINT AS bytes_in, min(first_seen) AS first_seen,
               max(last_seen) AS last_seen FROM ends GROUP BY id)
SELECT id, out_degree + in_degree AS degree, out_degree, in_degree, flows,
       bytes_out, bytes_in, bytes_out + bytes_in AS bytes, first_seen, last_seen
FROM tot
"""  # noqa: S608 - built from constants
    files = hosts_files(ws)
    if not files:
        sql = (f"SELECT n.id, n.id AS label, CAST(CASE WHEN contains(n.id, ':') THEN 6 ELSE 4 "  # noqa: S608 - identifiers from constants, values as parameters
               f"END AS TINYINT) AS ip_version, n.* EXCLUDE (id) FROM ({stats}) n "
               "ORDER BY n.id")
        return fetch_arrow(con, sql)
    src = "read_parquet(?, union_by_name = true)"
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}",  # noqa: S608 - identifiers from constants, values as parameters
                                      [[str(f) for f in files]]).fetchall()}
    cols = []
    for name in NODE_HOST_COLUMNS:
        if name not in have:
            continue
        if name == "dns":
            cols.append("array_to_string(h.dns, ';') AS dns")
        else:
            cols.append(f"h.{name}")
    version = ("coalesce(CAST(h.ip_version AS TINYINT), " if "ip_version" in have else "(") + \
        "CAST(CASE WHEN contains(n.id, ':') THEN 6 ELSE 4 END AS TINYINT)) AS ip_version"
    sql = (f"SELECT n.id, n.id AS label, {version}, {', '.join(cols) + ',' if cols else ''} "  # noqa: S608 - constant identifiers
           f"n.* EXCLUDE (id) FROM ({stats}) n LEFT JOIN (SELECT DISTINCT ON (ip) * FROM {src}) "
           "h ON h.ip = n.id ORDER BY n.id")
    return fetch_arrow(con, sql, [[str(f) for f in files]])


def build_graph(ws: Workspace, sel: Selection | None = None, *, spells: bool = False
                ) -> ExportGraph:
    """The graph of a selection: nodes, edges and (with ``spells``) their active days.

    >>> import tempfile
    >>> g = build_graph(Workspace.open(tempfile.mkdtemp() + "/ws"))
    >>> g.nodes.num_rows, g.edges.num_rows
    (0, 0)
    """
    sel = sel or Selection()
    needs_restrict = sel.restricts()
    # Without a host filter, pairs and their labels come from one query over the edge rows.
    one_query = not sel.per_port and not sel.flt.hosts
    con = connect(ws, memory_limit=MEMORY_LIMIT)
    con.execute("SET enable_progress_bar = false")  # stdout may be the export
    try:
        if one_query:
            raw = _all_pairs(con, sel, None if needs_restrict else sel.flt.limit)
        else:
            flt = dataclasses.replace(sel.flt, limit=None) if needs_restrict else sel.flt
            raw = select_edges(ws, flt, per_port=sel.per_port)
            raw = raw.rename_columns(["source" if c == "src_ip" else "target" if c == "dst_ip"
                                      else c for c in raw.column_names])
        if needs_restrict:
            raw = restrict(raw, sel, ws)
            if sel.flt.limit:
                raw = raw.slice(0, sel.flt.limit)
        if sel.per_port:
            port = pc.cast(raw.column("dst_port"), pa.string())
            raw = raw.add_column(2, "label", pc.binary_join_element_wise(
                raw.column("proto"), port, "/", null_handling="skip"))
        n = raw.num_rows
        sel_tab = raw.append_column("edge", row_numbers(0, n))
        con.register("sel", sel_tab)
        if not sel.per_port and not one_query:
            raw = raw.add_column(2, "label", _pair_labels(con, sel))
        nodes = _nodes(con, ws, sel.per_port)
        node_spells = edge_spells = None
        if spells:
            node_spells, edge_spells = _spells(con, sel)
    finally:
        con.close()
    return ExportGraph(nodes, raw, node_spells, edge_spells, per_port=sel.per_port)
