"""The bulk path for large first loads: Neo4j's own batch importer on CSV exported by DuckDB.

``neo4j-admin database import full`` writes the store files directly, bypassing transactions,
and is several times faster than any driver path; but it builds a new database, offline. Its
artifacts come from Maven Central with the launcher (``org.neo4j:neo4j-import-tool`` is a
dependency of ``org.neo4j:neo4j``), so it runs from the launcher's classpath as
``org.neo4j.cli.AdminTool``.

The graph it writes is the same one :func:`graphflow.stores.neo4j.load_workspace` writes (same
labels, keys, properties and types); :func:`finish_bulk_load` then adds the constraints and
indexes and the load markers, so later ``graphflow load`` runs only write what changed.

>>> print(next(c for c in _rel_columns() if "first_seen:" in c))
strftime(CAST(first_seen AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ') AS "first_seen:datetime"
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import neo4j

from cypher import read_cypher
from graphflow.db import connect
from graphflow.errors import GraphFlowError, StoreUnavailable
from graphflow.neo4j_server import JAVA_OPENS, build_launcher
from graphflow.schema import EDGE_FIELDS, HOST_FIELDS
from graphflow.stores.neo4j import (
    EDGE_KEY_SQL,
    EDGE_PROPERTIES,
    _cypher,
    _edge_days,
    _fingerprint,
    _host_files,
    _host_sql,
    _query,
    ensure_schema,
    host_extras_table,
    hosts_fingerprint,
    write_ip_sets,
)
from graphflow.workspace import Workspace

__all__ = ["BulkReport", "bulk_import", "export_csv", "finish_bulk_load"]

# neo4j-admin import types for our Arrow types
_IMPORT_TYPES = {"int64": "long", "int8": "int", "uint16": "long", "bool": "boolean",
                 "date32[day]": "date", "timestamp[us, tz=UTC]": "datetime",
                 "list<item: string>": "string[]", "string": "string"}
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class BulkReport:
    """What the importer wrote and how long each step took."""

    hosts: int
    relationships: int
    export_seconds: float
    import_seconds: float
    data_dir: str

    @property
    def relationships_per_second(self) -> float:
        return self.relationships / self.import_seconds if self.import_seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "relationships_per_second": round(self.relationships_per_second)}


def _col(name: str, typ: str) -> str:
    t = _IMPORT_TYPES[typ]
    if t == "datetime":
        return f"strftime(CAST({name} AS TIMESTAMP), '{_TS_FORMAT}') AS \"{name}:{t}\""
    if t == "string[]":
        return f"array_to_string({name}, ';') AS \"{name}:{t}\""
    return f"{name} AS \"{name}:{t}\""


def _rel_columns() -> list[str]:
    types = {f.name: str(f.type) for f in EDGE_FIELDS}
    return ['src_ip AS ":START_ID(Host)"', 'dst_ip AS ":END_ID(Host)"', f"{EDGE_KEY_SQL} AS key",
            *(_col(p, types[p]) for p in EDGE_PROPERTIES)]


def _sql_path(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"  # our own path, quoted as a SQL literal


def export_csv(ws: Workspace, out_dir: Path) -> tuple[Path, Path, int, int]:
    """Write ``hosts.csv`` and ``flows.csv`` in the importer's format; returns paths and rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    nodes, rels = out_dir / "hosts.csv", out_dir / "flows.csv"
    host_sql, host_params, props = _host_sql(ws, _host_files(ws))
    types = {f.name: str(f.type) for f in HOST_FIELDS}
    con = connect(ws)
    try:
        # the derived properties the batched path writes too (ip_key, policy properties)
        ips = [r[0] for r in con.execute(f"SELECT ip FROM ({host_sql})",  # noqa: S608 - ours
                                         host_params or None).fetchall()]
        extras, _ = host_extras_table(ws, ips)
        con.register("host_extras", extras)
        types.update({f.name: str(f.type) for f in extras.schema if f.name != "ip"})
        extra_names = [n for n in extras.column_names if n != "ip"]
        cols = ", ".join(['ip AS "ip:ID(Host)"',
                          *(_col(p, types[p]) for p in [*props, *extra_names])])
        host_sql = (f"SELECT h.*, {', '.join('x.' + n for n in extra_names)} "  # noqa: S608
                    f"FROM ({host_sql}) h JOIN host_extras x USING (ip) ORDER BY ip")
        # column expressions come from the schema constants; the paths are ours
        con.execute(f"COPY (SELECT {cols} FROM ({host_sql})) TO {_sql_path(nodes)} "  # noqa: S608
                    "(HEADER, DELIMITER ',')", host_params or None)
        con.execute(f"COPY (SELECT {', '.join(_rel_columns())} FROM edges) "  # noqa: S608
                    f"TO {_sql_path(rels)} (HEADER, DELIMITER ',')")
        edges = con.execute("SELECT count(*) FROM edges").fetchall()[0][0]
    finally:
        con.close()
    return nodes, rels, len(ips), int(edges)


def bulk_import(ws: Workspace, data_dir: Path, *, heap: str = "2g", threads: int | None = None,
                work_dir: Path | None = None) -> BulkReport:
    """Replace the ``neo4j`` database under ``data_dir`` (a launcher home) with the workspace.

    The server on ``data_dir`` must be stopped. Start it afterwards and call
    :func:`finish_bulk_load`.
    """
    jar = build_launcher()
    data_dir = data_dir.absolute()
    work = (work_dir or data_dir / "import").absolute()
    t0 = time.perf_counter()
    nodes, rels, hosts, edges = export_csv(ws, work)
    t1 = time.perf_counter()
    conf = data_dir / "conf" / "neo4j.conf"
    if not conf.exists():
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("dbms.usage_report.enabled=false\n", encoding="utf-8")
    cmd = ["java", f"-Xmx{heap}", *JAVA_OPENS, "-cp", str(jar), "org.neo4j.cli.AdminTool",
           "database", "import", "full", f"--nodes=Host={nodes}",
           f"--relationships=FLOW={rels}", "--array-delimiter=;",
           "--overwrite-destination=true", f"--report-file={work / 'import.report'}",
           *([f"--threads={threads}"] if threads else []), "neo4j"]
    env = dict(os.environ, NEO4J_HOME=str(data_dir), NEO4J_CONF=str(conf.parent))
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    t2 = time.perf_counter()
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        if "lock" in tail.lower():
            raise StoreUnavailable(f"{data_dir}: the database is in use; stop the server "
                                   f"('graphflow neo4j stop') before a bulk import:\n{tail}")
        raise GraphFlowError(f"neo4j-admin import failed ({proc.returncode}):\n{tail}")
    for f in (nodes, rels):
        f.unlink(missing_ok=True)
    return BulkReport(hosts=hosts, relationships=edges, export_seconds=t1 - t0,
                      import_seconds=t2 - t1, data_dir=str(data_dir))


def finish_bulk_load(driver: neo4j.Driver, ws: Workspace, *,
                     database: str | None = None) -> float:
    """After a bulk import: create constraints and indexes (waiting for them) and write the
    load markers. Returns the seconds it took."""
    t0 = time.perf_counter()
    ensure_schema(driver, database=database)
    q = _query(read_cypher("load_mark"))
    parts = {"hosts": hosts_fingerprint(ws)}
    parts.update({f"edges/{day}": _fingerprint(files) for day, files in _edge_days(ws).items()})
    ips = [r["ip"] for r in driver.execute_query("MATCH (h:Host) RETURN h.ip AS ip",
                                                     database_=database).records]
    _, policies = host_extras_table(ws, ips)
    write_ip_sets(driver, ws, ips, database=database)
    with driver.session(database=database) as s:
        s.execute_write(lambda tx: tx.run(_cypher(read_cypher("load_policies")),
                                          policies).consume())
        for part, fp in parts.items():
            if part == "hosts":
                rows = s.run("MATCH (h:Host) RETURN count(h) AS n").single(strict=True)["n"]
            else:
                rows = s.run("MATCH ()-[r:FLOW]->() WHERE r.day = date($day) "
                             "RETURN count(r) AS n", day=part.split("/", 1)[1]
                             ).single(strict=True)["n"]
            s.run(q, part=part, fingerprint=fp, rows=int(rows), workspace=str(ws.root)).consume()
    return time.perf_counter() - t0
