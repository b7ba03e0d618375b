"""The web layer's view of a workspace: one DuckDB catalogue per workspace state, shared by
all request threads through cursors.

A :class:`Snapshot` is built once per workspace state (the committed version plus the hosts
table's files, which enrichment rebuilds without a new flow version) and holds:

* the views ``flows`` and ``edges`` of :func:`graphflow.db.connect`;
* a table ``hosts`` with the columns of :data:`graphflow.schema.HOST_SCHEMA` (empty, and
  ``has_hosts`` false, until ``graphflow enrich`` has built it);
* a table ``nodes`` (every address in the edges) and an in-memory index of the same addresses
  for CIDR look-ups without scanning;
* the list of days with their flow counts (the time slider).

Requests take a cursor (``with source.cursor() as (snap, cur)``): DuckDB cursors are separate
connections to the same in-memory catalogue and may run on different threads.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import ipaddress
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from graphflow.config import Config
from graphflow.db import connect
from graphflow.schema import EDGE_FIELDS, EDGE_KEY, HOST_FIELDS, HOST_SCHEMA
from graphflow.workspace import Workspace

__all__ = ["DataSource", "HostIndex", "Snapshot", "hosts_files", "scalar"]

logger = logging.getLogger(__name__)

#: Columns of the hosts table the UI shows (all of HOST_FIELDS).
HOST_COLUMNS: tuple[str, ...] = tuple(f.name for f in HOST_FIELDS)


def scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    """The single integer a query returns (its result fully consumed; 0 for NULL)."""
    rows = cur.execute(sql, params or []).fetchall()
    return int(rows[0][0] or 0) if rows else 0


def hosts_files(ws: Workspace) -> list[Path]:
    """The hosts table's Parquet files (``<workspace>/hosts/*.parquet``), if enrichment built
    it; the committed version's copy wins over a loose directory."""
    for base in (ws.version_dir / "hosts", ws.root / "hosts"):
        files = sorted(base.glob("*.parquet")) if base.is_dir() else []
        if files:
            return [f.resolve() for f in files]
    return []


def _conform_hosts(table: pa.Table | None) -> pa.Table:
    """Cast whatever the hosts files hold onto HOST_SCHEMA (missing columns are null)."""
    n = 0 if table is None else table.num_rows
    cols = []
    for f in HOST_SCHEMA:
        if table is not None and f.name in table.column_names:
            try:
                cols.append(table.column(f.name).cast(f.type))
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                logger.warning("hosts table: column %s has an unexpected type", f.name)
        if f.type == pa.bool_():
            cols.append(pa.array([False] * n, f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=pa.schema([pa.field(f.name, f.type)
                                                        for f in HOST_SCHEMA]))


class HostIndex:
    """Every address of the workspace, sorted, for CIDR membership without scanning.

    >>> idx = HostIndex(["10.0.0.2", "10.0.1.1", "2001:db8::1", "10.0.0.1"])
    >>> idx.in_network(ipaddress.ip_network("10.0.0.0/24"))
    ['10.0.0.1', '10.0.0.2']
    >>> idx.in_network(ipaddress.ip_network("2001:db8::/32")), "10.0.1.1" in idx
    (['2001:db8::1'], True)
    """

    def __init__(self, ips: list[str]) -> None:
        v4: list[tuple[int, str]] = []
        v6: list[tuple[int, str]] = []
        for ip in ips:
            try:
                a = ipaddress.ip_address(ip)
            except ValueError:
                continue
            (v4 if a.version == 4 else v6).append((int(a), str(a)))
        v4.sort()
        v6.sort()
        self._v4_int = np.array([i for i, _ in v4], dtype=np.int64)
        self._v4_ip = [s for _, s in v4]
        self._v6_int = [i for i, _ in v6]
        self._v6_ip = [s for _, s in v6]
        self._all = set(self._v4_ip) | set(self._v6_ip)

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, ip: object) -> bool:
        return ip in self._all

    def in_network(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network,
                   limit: int | None = None) -> list[str]:
        lo, hi = int(net.network_address), int(net.broadcast_address)
        if net.version == 4:
            a = int(np.searchsorted(self._v4_int, lo, side="left"))
            b = int(np.searchsorted(self._v4_int, hi, side="right"))
            out = self._v4_ip[a:b]
        else:
            a = bisect.bisect_left(self._v6_int, lo)
            b = bisect.bisect_right(self._v6_int, hi)
            out = self._v6_ip[a:b]
        return out[:limit] if limit is not None else out

    def all(self) -> list[str]:
        return self._v4_ip + self._v6_ip


@dataclass
class Snapshot:
    """One workspace state, ready for queries (see the module docstring)."""

    key: tuple[Any, ...]
    con: duckdb.DuckDBPyConnection
    has_hosts: bool
    hosts_rows: int
    days: list[tuple[dt.date, int]]
    index: HostIndex
    #: the edge columns holding counts (flows, bytes, packets, failure counts) in this
    #: workspace: EDGE_FIELDS as far as the files have them (older workspaces lack new ones)
    edge_counts: tuple[str, ...] = ()
    #: the flows' Parquet files per day partition (pages of flows read only their days)
    flow_files: dict[dt.date, list[Path]] = field(default_factory=dict)
    #: whether the edges are also held in memory, sorted by source (``e_src``) and by
    #: destination (``e_dst``), so that a host's edges are found without a scan
    edges_in_memory: bool = False
    #: lazily computed, per snapshot: analysis findings (see web.findings)
    cache: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def day_list(self) -> list[dt.date]:
        return [d for d, _ in self.days]


class DataSource:
    """A workspace served over HTTP; rebuilds its :class:`Snapshot` when the workspace moves."""

    def __init__(self, ws: Workspace, config: Config | None = None, threads: int = 2,
                 memory_edges: int = 3_000_000) -> None:
        self.ws = ws
        self.config = config or Config()
        self.threads = threads
        #: keep sorted in-memory copies of the edges up to this many rows (two copies of a
        #: few hundred bytes a row; the 1M-flow workspace has about 200k edge rows)
        self.memory_edges = memory_edges
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()

    def _key(self) -> tuple[Any, ...]:
        files = hosts_files(self.ws)
        stamps = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        return (self.ws.version, stamps)

    def snapshot(self) -> Snapshot:
        key = self._key()
        snap = self._snap
        if snap is not None and snap.key == key:
            return snap
        with self._lock:
            if self._snap is not None and self._snap.key == key:
                return self._snap
            fresh = self._build(key)
            old, self._snap = self._snap, fresh
        if old is not None:
            logger.info("workspace changed (%s -> %s): new snapshot", old.key[0], key[0])
        return fresh

    def _build(self, key: tuple[Any, ...]) -> Snapshot:
        vdir = self.ws.version_dir
        con = connect(self.ws, memory_limit=self.config.duckdb_memory_limit,
                      threads=self.threads)
        flow_files: dict[dt.date, list[Path]] = {}
        for f in self.ws.table_files("flows", vdir):
            try:
                day = dt.date.fromisoformat(f.parent.name.removeprefix("day="))
            except ValueError:
                continue
            flow_files.setdefault(day, []).append(f)
        files = hosts_files(self.ws)
        raw: pa.Table | None = None
        if files:
            try:
                raw = pq.read_table([str(f) for f in files]) if len(files) > 1 else (
                    pq.read_table(str(files[0])))
            except (OSError, pa.ArrowInvalid) as exc:
                logger.warning("hosts table unreadable (%s): shown without it", exc)
                raw = None
        hosts = _conform_hosts(raw)
        con.register("_hosts_arrow", hosts)
        con.execute("CREATE TABLE hosts AS SELECT * FROM _hosts_arrow")
        con.unregister("_hosts_arrow")
        con.execute("CREATE TABLE nodes AS SELECT src_ip AS ip FROM edges "
                    "UNION SELECT dst_ip FROM edges")
        ips = [r[0] for r in con.execute("SELECT ip FROM nodes").fetchall()]
        days = [(d, int(n)) for d, n in con.execute(
            "SELECT day, sum(flows)::BIGINT FROM edges GROUP BY day ORDER BY day").fetchall()]
        present = {r[0] for r in con.execute("DESCRIBE edges").fetchall()}
        n_edges = int(con.execute("SELECT count(*) FROM edges").fetchall()[0][0])
        in_memory = 0 < n_edges <= self.memory_edges
        if in_memory:
            con.execute("CREATE TABLE e_src AS SELECT * FROM edges ORDER BY src_ip, dst_ip")
            con.execute("CREATE TABLE e_dst AS SELECT * FROM edges ORDER BY dst_ip, src_ip")
        counts = tuple(f.name for f in EDGE_FIELDS if f.name not in EDGE_KEY
                       and f.type == pa.int64() and f.name in present)
        return Snapshot(key=key, con=con, has_hosts=hosts.num_rows > 0,
                        hosts_rows=hosts.num_rows, days=days, index=HostIndex(ips),
                        edge_counts=counts, flow_files=flow_files,
                        edges_in_memory=in_memory)

    @contextlib.contextmanager
    def cursor(self) -> Iterator[tuple[Snapshot, duckdb.DuckDBPyConnection]]:
        """A snapshot and a cursor on it, for one request (closed afterwards)."""
        snap = self.snapshot()
        with snap.lock:  # the shared connection hands out cursors one thread at a time
            cur = snap.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")  # a session setting: each cursor needs it
        try:
            yield snap, cur
        finally:
            cur.close()
