"""Selections over the workspace: workspace facts, flows and the host graph for a filter.

Whole-table work runs in DuckDB over the Parquet files; only bounded results reach Python,
and NetworkX only ever sees a bounded subgraph (:func:`host_graph` refuses more than
``max_edges`` edges and says how to narrow the selection).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pyarrow as pa

from graphflow.db import connect, fetch_arrow
from graphflow.edges import coarsen_sql
from graphflow.errors import GraphFlowError
from graphflow.workspace import Workspace

__all__ = [
    "FlowFilter",
    "WorkspaceInfo",
    "host_graph",
    "ip_sort_key",
    "select_edges",
    "select_flows",
    "workspace_info",
]


@functools.lru_cache(maxsize=1 << 18)
def ip_sort_key(ip: str) -> tuple[int, int]:
    """Sort IPs numerically, IPv4 before IPv6.

    >>> sorted(["10.0.0.10", "10.0.0.9", "::1"], key=ip_sort_key)
    ['10.0.0.9', '10.0.0.10', '::1']
    """
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0)
    return (a.version, int(a))


@dataclass(frozen=True)
class WorkspaceInfo:
    workspace: str
    version: int
    flows: int
    hosts: int
    edges: int
    first_seen: str | None
    last_seen: str | None
    days: int
    files_loaded: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def workspace_info(ws: Workspace) -> WorkspaceInfo:
    """Counts and time span of what the workspace holds."""
    con = connect(ws)
    try:
        flows, first, last = con.execute(
            "SELECT count(*), min(ts), max(ts) FROM flows").fetchone() or (0, None, None)
        edges, days = con.execute(
            "SELECT count(*), count(DISTINCT day) FROM edges").fetchone() or (0, 0)
        (hosts,) = con.execute(
            "SELECT count(*) FROM (SELECT src_ip FROM edges UNION SELECT dst_ip FROM edges)"
        ).fetchone() or (0,)
    finally:
        con.close()
    ledger = ws.ledger()

    def iso(v: dt.datetime | None) -> str | None:
        return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if v else None

    return WorkspaceInfo(str(ws.root), ws.version, int(flows), int(hosts), int(edges),
                         iso(first), iso(last), int(days), len(ledger.get("files", {})))


@dataclass(frozen=True)
class FlowFilter:
    """A selection: time window, hosts (IPs or CIDRs, either end), ports, protocols.

    >>> FlowFilter(hosts=("10.0.0.0/8",)).networks()
    [IPv4Network('10.0.0.0/8')]
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    protos: tuple[str, ...] = ()
    limit: int | None = 1000
    extra: dict[str, Any] = field(default_factory=dict)

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        nets = []
        for h in self.hosts:
            try:
                nets.append(ipaddress.ip_network(h.strip(), strict=False))
            except ValueError:
                raise GraphFlowError(f"--host {h!r}: not an IP address or CIDR") from None
        return nets


def _matching_ips(con: Any, flt: FlowFilter) -> list[str] | None:
    """Distinct workspace hosts inside the filter's networks (None = no host filter)."""
    nets = flt.networks()
    if not nets:
        return None
    rows = con.execute(
        "SELECT src_ip FROM edges UNION SELECT dst_ip FROM edges").fetchall()
    out = []
    for (ip,) in rows:
        a = ipaddress.ip_address(ip)
        if any(a.version == n.version and a in n for n in nets):
            out.append(ip)
    return out


def _where(con: Any, flt: FlowFilter, time_col: str, day_col: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if flt.start is not None:
        clauses.append(f"{time_col} >= ?")
        params.append(flt.start)
        if day_col:
            clauses.append(f"{day_col} >= CAST(? AS DATE)")
            params.append(flt.start)
    if flt.end is not None:
        clauses.append(f"{time_col} < ?")
        params.append(flt.end)
        if day_col:
            clauses.append(f"{day_col} <= CAST(? AS DATE)")
            params.append(flt.end)
    ips = _matching_ips(con, flt)
    if ips is not None:
        clauses.append("(list_contains(?, src_ip) OR list_contains(?, dst_ip))")
        params += [ips, ips]
    if flt.ports:
        clauses.append("list_contains(?, CAST(dst_port AS INTEGER))")
        params.append(list(flt.ports))
    if flt.protos:
        clauses.append("list_contains(?, proto)")
        params.append([p.lower() for p in flt.protos])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def select_flows(ws: Workspace, flt: FlowFilter) -> pa.Table:
    """The flows matching ``flt``, in time order, with their source file and line."""
    con = connect(ws)
    try:
        where, params = _where(con, flt, "ts", "day")
        limit = f" LIMIT {int(flt.limit)}" if flt.limit else ""
        cols = "* EXCLUDE (day)"
        tab = fetch_arrow(
            con, f"SELECT {cols} FROM flows{where} ORDER BY ts, source_file, source_line{limit}",  # noqa: S608 - values are parameters
            params)
        return tab
    finally:
        con.close()


def select_edges(ws: Workspace, flt: FlowFilter, *, per_port: bool = True) -> pa.Table:
    """Edge rows for the selection, aggregated per pair (and port/proto when ``per_port``).

    Time filtering on edges is by day (edges are daily aggregates).
    """
    con = connect(ws)
    try:
        day_flt = FlowFilter(start=None, end=None, hosts=flt.hosts, ports=flt.ports,
                             protos=flt.protos)
        where, params = _where(con, day_flt, "first_seen", None)
        extra = []
        if flt.start is not None:
            extra.append("day >= CAST(? AS DATE)")
            params.append(flt.start)
        if flt.end is not None:
            extra.append("day <= CAST(? AS DATE)")
            params.append(flt.end)
        if extra:
            where = (where + " AND " if where else " WHERE ") + " AND ".join(extra)
        limit = f" LIMIT {int(flt.limit)}" if flt.limit else ""
        # A total order: per-port rows of one pair are ordered by port and protocol too,
        # so the same selection always gives the same rows (a LIMIT cuts at the same place).
        order = "flows DESC, src_ip, dst_ip" + (", dst_port NULLS FIRST, proto" if per_port else "")
        sql = (f"WITH e AS (SELECT * FROM edges{where}) {coarsen_sql(per_port)} "  # noqa: S608
               f"ORDER BY {order}{limit}")
        tab = fetch_arrow(con, sql, params)
        return tab
    finally:
        con.close()


def host_graph(edges: pa.Table, *, max_edges: int = 50_000) -> nx.MultiDiGraph:
    """A bounded NetworkX graph of an edge selection: hosts as nodes, edges keyed by port/proto.

    >>> t = pa.table({"src_ip": ["10.0.0.1"], "dst_ip": ["10.0.0.2"], "dst_port": [22],
    ...               "proto": ["tcp"], "flows": [3]})
    >>> g = host_graph(t)
    >>> list(g.edges(keys=True, data="flows"))
    [('10.0.0.1', '10.0.0.2', 'tcp/22', 3)]
    """
    if edges.num_rows > max_edges:
        raise GraphFlowError(
            f"selection has {edges.num_rows} edges (limit {max_edges}); narrow it with a time "
            "window, --host, --port or --proto")
    g = nx.MultiDiGraph()
    for row in edges.to_pylist():
        port = row.get("dst_port")
        proto = row.get("proto")
        key = f"{proto}/{port}" if proto and port is not None else (proto or "any")
        attrs = {k: v for k, v in row.items() if k not in ("src_ip", "dst_ip")}
        g.add_edge(row["src_ip"], row["dst_ip"], key=key, **attrs)
    return g
