"""The analysis context: DuckDB views over the workspace, the hosts table and the thresholds.

Every analysis works on the edge model (``edges``) joined with the hosts table (``hosts``), so
that its Cypher twin can answer from the same graph model. When the workspace has no hosts
table yet (no ``graphflow enrich``), a default one is derived: every address in the edges,
``own`` when it is private/unique-local address space, nothing whitelisted.
"""

from __future__ import annotations

import gc
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from graphflow.config import Thresholds
from graphflow.db import connect
from graphflow.schema import HOST_FIELDS
from graphflow.workspace import Workspace

__all__ = ["Context", "LOW_PROFILE_SQL", "open_context"]

#: An edge row is *low-profile* (a probe) when every flow in it went unanswered, or when it is
#: tiny over both directions (trafMon's low-traffic rule). Parameters: $max_pkts, $max_bytes.
LOW_PROFILE_SQL = (
    "(failed_flows = flows OR (src_pkts + dst_pkts <= $max_pkts "
    "AND src_bytes + dst_bytes <= $max_bytes))"
)


@dataclass
class Context:
    """An open analysis context (close it, or use it as a context manager)."""

    ws: Workspace
    con: duckdb.DuckDBPyConnection
    thresholds: Thresholds
    has_inventory: bool
    extra: dict[str, Any] = field(default_factory=dict)
    _gc_was_enabled: bool = field(default=False, init=False, repr=False)

    def __enter__(self) -> Context:
        # An analysis builds many small containers (findings, figures, drill keys) and no
        # reference cycles: the cyclic collector would run over and over for nothing (40% of
        # low_traffic's time at 10M flows). Paused while the context is open.
        self._gc_was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()
        if self._gc_was_enabled:
            self._gc_was_enabled = False
            gc.enable()

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """Run ``sql`` with the parameters it names (``$name``) taken from ``params``."""
        names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
        return self.con.execute(sql, {k: v for k, v in (params or {}).items() if k in names})

    def temp_table(self, name: str, sql: str, params: dict[str, Any] | None = None) -> str:
        """Materialise ``sql`` once as the temporary table ``name`` (a constant of the
        analysis) in this context's connection, for the several queries that read it;
        returns ``name``."""
        if not name.isidentifier():
            raise ValueError(f"temporary table name {name!r}")
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)
        return name

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


#: Own address space when there is no inventory: RFC 1918 and unique-local IPv6 (fc00::/7).
_PRIVATE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


def _default_hosts(con: duckdb.DuckDBPyConnection) -> pa.Table:
    ips = [r[0] for r in con.execute(
        "SELECT src_ip FROM edges UNION SELECT dst_ip FROM edges").fetchall()]
    cols: dict[str, list[Any]] = {f.name: [] for f in HOST_FIELDS}
    for ip in ips:
        a = ipaddress.ip_address(ip)
        own = any(a.version == n.version and a in n for n in _PRIVATE)
        row: dict[str, Any] = {f.name: None for f in HOST_FIELDS}
        row.update(ip=ip, ip_version=a.version, own=own, hva=False, whitelisted=False,
                   address_class="private" if own else "public")
        for k, v in row.items():
            cols[k].append(v)
    return pa.table(cols, schema=pa.schema([f.arrow() for f in HOST_FIELDS]))


def open_context(ws: Workspace, thresholds: Thresholds | None = None) -> Context:
    """Open DuckDB over ``ws`` with views ``flows``, ``edges`` and ``hosts``."""
    con = connect(ws)
    host_files = sorted((ws.version_dir / "hosts").glob("*.parquet"))
    if host_files:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in host_files)
        # views cannot take parameters: workspace paths, quoted, are the only text inserted
        con.execute(f"CREATE VIEW hosts AS SELECT * FROM read_parquet([{files}])")
        has_inventory = True
    else:
        table = _default_hosts(con)
        con.register("hosts_default", table)
        con.execute("CREATE VIEW hosts AS SELECT * FROM hosts_default")
        has_inventory = False
    return Context(ws=ws, con=con, thresholds=thresholds or Thresholds(),
                   has_inventory=has_inventory)
