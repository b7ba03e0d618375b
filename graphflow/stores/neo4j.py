"""The Neo4j backend: the connection rule, the schema, and the one batched write path.

Connection, one rule everywhere (:func:`resolve_target`): ``--neo4j URI`` (with
``--neo4j-user``/``--neo4j-password`` or ``NEO4J_USER``/``NEO4J_PASSWORD``), else ``NEO4J_URI``,
else the server started by ``graphflow neo4j start``. When nothing answers,
:class:`~graphflow.errors.StoreUnavailable` says what was tried and what to do.

The graph model is documented in ``cypher/schema.cypher``: ``(:Host {ip, ...})`` nodes and one
``[:FLOW]`` relationship per edge-model row, keyed by :func:`edge_key`.

Writing (:func:`load_workspace`) goes through one path: parameterised ``UNWIND`` batches
(``cypher/load_hosts.cypher``, ``cypher/load_edges.cypher``), each its own transaction, every
write a ``MERGE`` on a unique key that ``SET``\\ s absolute values. So a reload changes no count
or sum, and a load killed at any point (SIGKILL included) converges to the exact graph when run
again. Per-part load markers (``(:GraphFlowLoad)``, written after a part's last batch) let the
rerun skip what was already complete.

Examples
--------
>>> import datetime as dt
>>> edge_key(dt.date(2026, 3, 2), "10.0.0.1", "10.0.0.2", 22, "tcp")
'2026-03-02|10.0.0.1|10.0.0.2|22|tcp'
>>> edge_key(dt.date(2026, 3, 2), "10.0.0.1", "10.0.0.2", None, "icmp")
'2026-03-02|10.0.0.1|10.0.0.2||icmp'
>>> resolve_target("bolt://db:7687", env={}).source
'--neo4j'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, LiteralString

import neo4j
import neo4j.exceptions
import neo4j.graph
import neo4j.spatial
import neo4j.time
import pyarrow as pa

from cypher import read_cypher
from graphflow.db import connect
from graphflow.errors import GraphFlowError, StoreUnavailable
from graphflow.neo4j_server import server_status, state_file
from graphflow.schema import EDGE_FIELDS, HOST_FIELDS, Field
from graphflow.stores.base import SUMMED_FIELDS, GraphCounts
from graphflow.workspace import Workspace

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EDGE_KEY_SQL",
    "EDGE_PROPERTIES",
    "HOST_PROPERTIES",
    "LoadReport",
    "Neo4jStore",
    "Neo4jTarget",
    "edge_key",
    "ensure_schema",
    "graph_counts",
    "load_workspace",
    "open_driver",
    "resolve_target",
    "run_cypher_file",
    "to_python",
    "wipe_graph",
    "write_ip_set",
    "write_ip_sets",
]

logger = logging.getLogger(__name__)

#: Relationships per write transaction. Chosen by bench/neo4j_bench.py's sweep on this 2-core
#: machine: 1k -> 6.6k rels/s, 5k -> 16.3k, 10k -> 17.7k, 20k -> 19.1k, 50k -> 19.0k; flat
#: beyond 20k while the memory per batch keeps growing.
DEFAULT_BATCH_SIZE = 20_000
#: DuckDB's memory limit while the loader reads the workspace: it streams one day at a time,
#: so a small buffer pool suffices and the client stays small beside the server.
LOAD_MEMORY_LIMIT = "256MB"
#: Host nodes per write transaction (host rows carry a map of attributes each).
HOST_BATCH_SIZE = 5_000

#: Properties of a FLOW relationship, besides ``key``: every edge field but the endpoints.
EDGE_PROPERTIES: tuple[str, ...] = tuple(
    f.name for f in EDGE_FIELDS if f.name not in ("src_ip", "dst_ip"))
#: Properties of a Host node, besides ``ip``: every field of the hosts table.
HOST_PROPERTIES: tuple[str, ...] = tuple(f.name for f in HOST_FIELDS if f.name != "ip")

#: The FLOW relationship key as DuckDB SQL over an edges row; same text as :func:`edge_key`.
EDGE_KEY_SQL = ("concat_ws('|', CAST(day AS VARCHAR), src_ip, dst_ip, "
                "coalesce(CAST(dst_port AS VARCHAR), ''), proto)")

Progress = Callable[[int, int], None]
"""progress(rows_done, rows_total): hosts and relationships written (or skipped as loaded)."""


def ip_key(ip: str) -> str:
    """Host.ip_key: text that sorts like :func:`graphflow.query.ip_sort_key` (numerically,
    IPv4 first), so that Cypher can order addresses with ``ORDER BY h.ip_key``.

    >>> sorted(["10.0.0.10", "::1", "10.0.0.9"], key=ip_key)
    ['10.0.0.9', '10.0.0.10', '::1']
    """
    import ipaddress

    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return "9"
    return f"{a.version}{int(a):0{8 if a.version == 4 else 32}x}"


def _host_extras(ws: Workspace, ips: list[str]) -> tuple[dict[str, list[Any]],
                                                         dict[str, Any]]:
    """Derived Host properties (``ip_key``, and from the workspace's inventory the policy
    properties of :func:`graphflow.analyses.policy_violations.policy_model`), and the
    ``$policies``/``$rules`` of ``cypher/load_policies.cypher``."""
    from graphflow.analyses.policy_violations import policy_model
    from graphflow.assets import load_inventory

    extras: dict[str, list[Any]] = {"ip_key": [ip_key(ip) for ip in ips]}
    inv = load_inventory(ws)
    names = ("policy", "peer_tags", "bogon", "outside_ranges")
    if inv is None:
        extras.update({k: [None] * len(ips) for k in names})
        return extras, {"policies": [], "rules": []}
    model = policy_model(inv, ips)
    extras.update({k: model.hosts.column(k).to_pylist() for k in names})

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if v is not None}

    return extras, {"policies": [clean(r) for r in model.policies.to_pylist()],
                    "rules": model.rules.to_pylist()}


def host_extras_table(ws: Workspace, ips: list[str]) -> tuple[pa.Table, dict[str, Any]]:
    """:func:`_host_extras` as a table keyed by ``ip`` (for the bulk importer's CSV)."""
    extras, policies = _host_extras(ws, ips)
    types = {"ip_key": pa.string(), "policy": pa.string(), "peer_tags": pa.list_(pa.string()),
             "bogon": pa.bool_(), "outside_ranges": pa.bool_()}
    table = pa.table({"ip": pa.array(ips, pa.string()),
                      **{k: pa.array(v, types[k]) for k, v in extras.items()}})
    return table, policies


def hosts_fingerprint(ws: Workspace) -> str:
    """The load marker of the ``hosts`` part: host and edge files, the inventory and the
    saved IP sets (the Host properties and the set memberships come from them)."""
    meta = ws.version_dir / "meta"
    inv_file = meta / "inventory.json"
    sets = sorted((meta / "sets").glob("*.txt")) if (meta / "sets").exists() else []
    return _fingerprint(_host_files(ws) + ws.edge_files()
                        + ([inv_file] if inv_file.exists() else []) + sets)


def write_ip_sets(driver: neo4j.Driver, ws: Workspace, ips: Sequence[str], *,
                  database: str | None = None) -> dict[str, int]:
    """Every named IP set of the workspace (built-in, inventory and saved: ``graphflow sets
    list``) as ``(:Host)-[:IN_SET]->(:IpSet {name})`` over the hosts ``ips`` of the graph;
    sets that no longer exist are removed. Returns the members per set."""
    from graphflow.ipsets import list_sets, load_set, parse_addrs

    names = [info.name for info in list_sets(ws)]
    addrs = parse_addrs(list(ips))
    members: dict[str, int] = {}
    for name in names:
        inside = load_set(ws, name).contains(addrs)
        members[name] = write_ip_set(driver, name, [ip for ip, yes in zip(ips, inside.tolist(),
                                                                          strict=True) if yes],
                                     database=database)
    driver.execute_query("MATCH (s:IpSet) WHERE NOT s.name IN $names DETACH DELETE s",
                         names=names, database_=database)
    return members


def edge_key(day: dt.date, src_ip: str, dst_ip: str, dst_port: int | None, proto: str) -> str:
    """The unique key of a FLOW relationship: the edge model's key in one string."""
    port = "" if dst_port is None else str(dst_port)
    return f"{day.isoformat()}|{src_ip}|{dst_ip}|{port}|{proto}"


# ---- connection ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Neo4jTarget:
    """Where to connect, with which credentials, and which rule chose it."""

    uri: str
    user: str | None = None
    password: str | None = None
    source: str = "--neo4j"

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.user, self.password or "") if self.user else None


def resolve_target(uri: str | None = None, user: str | None = None,
                   password: str | None = None, *, env: Mapping[str, str] | None = None,
                   state_path: Path | None = None) -> Neo4jTarget:
    """``uri``, else ``NEO4J_URI``, else the server of ``graphflow neo4j start``.

    Credentials: ``user``/``password``, else ``NEO4J_USER``/``NEO4J_PASSWORD``, else none (the
    launcher runs without authentication).
    """
    env = os.environ if env is None else env
    user = user or env.get("NEO4J_USER") or None
    password = password if password is not None else env.get("NEO4J_PASSWORD")
    if uri:
        return Neo4jTarget(uri, user, password, "--neo4j")
    if env.get("NEO4J_URI"):
        return Neo4jTarget(env["NEO4J_URI"], user, password, "NEO4J_URI")
    path = state_path or state_file(env)
    status = server_status(path)
    if status.state is not None and status.running:
        return Neo4jTarget(status.state.uri, user, password, "graphflow neo4j start")
    if status.state is not None:
        raise StoreUnavailable(
            f"the Neo4j server started by 'graphflow neo4j start' ({status.state.uri}, pid "
            f"{status.state.pid}) is not running any more: run 'graphflow neo4j start' again, "
            "or pass --neo4j URI / set NEO4J_URI")
    raise StoreUnavailable(
        "no Neo4j to talk to: pass --neo4j bolt://HOST:7687, set NEO4J_URI, or start a local "
        "server with 'graphflow neo4j start'")


def open_driver(target: Neo4jTarget, *, check: bool = True) -> neo4j.Driver:
    """A driver for ``target``; with ``check``, fail now (StoreUnavailable) if it cannot connect."""
    try:
        driver = neo4j.GraphDatabase.driver(
            target.uri, auth=target.auth, notifications_min_severity="OFF",
            connection_acquisition_timeout=30.0)
    except (ValueError, neo4j.exceptions.ConfigurationError) as exc:
        raise StoreUnavailable(f"bad Neo4j URI {target.uri!r} (from {target.source}): {exc}"
                               ) from None
    if check:
        try:
            driver.verify_connectivity()
        except neo4j.exceptions.AuthError as exc:
            driver.close()
            raise StoreUnavailable(
                f"Neo4j at {target.uri} (from {target.source}) refused the credentials: "
                f"{exc.message}; pass --neo4j-user/--neo4j-password or set NEO4J_USER/"
                "NEO4J_PASSWORD") from None
        except (neo4j.exceptions.DriverError, neo4j.exceptions.Neo4jError, OSError) as exc:
            driver.close()
            raise StoreUnavailable(
                f"cannot reach Neo4j at {target.uri} (from {target.source}): {exc}; start one "
                "with 'graphflow neo4j start', or pass --neo4j URI / set NEO4J_URI") from None
    return driver


def _cypher(text: str) -> LiteralString:
    """Query text that comes from the Cypher files shipped with GraphFlow (or the read-only
    console): values always travel as parameters, never in this text. (mypy treats
    LiteralString as str; the annotation documents the contract for other checkers.)"""
    return text


def _query(text: str, timeout: float | None = None) -> neo4j.Query:
    return neo4j.Query(_cypher(text), timeout=timeout)


# ---- schema and the analyses' hook ------------------------------------------------------
def schema_statements() -> list[str]:
    """The statements of ``cypher/schema.cypher`` (comments dropped), in order."""
    body = "\n".join(line for line in read_cypher("schema").splitlines()
                     if not line.lstrip().startswith("//"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";")]


def ensure_schema(driver: neo4j.Driver, *, database: str | None = None,
                  wait_seconds: float = 600.0) -> None:
    """Create the constraints and indexes of ``cypher/schema.cypher`` (idempotent), and wait
    until they are online."""
    with driver.session(database=database) as s:
        for statement in schema_statements():
            s.run(_query(statement.rstrip(";"))).consume()
        s.run("CALL db.awaitIndexes($seconds)", seconds=int(wait_seconds)).consume()


def to_python(value: Any) -> Any:
    """A value from the driver as plain Python: temporal types become ``datetime``/``date``,
    nodes/relationships/paths become dicts (JSON-ready with the CLI's encoder).

    >>> to_python([neo4j.time.Date(2026, 3, 2), {"n": 1}])
    [datetime.date(2026, 3, 2), {'n': 1}]
    """
    if isinstance(value, neo4j.time.DateTime | neo4j.time.Date | neo4j.time.Time):
        return value.to_native()
    if isinstance(value, neo4j.time.Duration):
        return str(value.iso_format())
    if isinstance(value, neo4j.graph.Node):
        return {"element_id": value.element_id, "labels": sorted(value.labels),
                "properties": to_python(dict(value))}
    if isinstance(value, neo4j.graph.Relationship):
        return {"element_id": value.element_id, "type": value.type,
                "start": value.start_node.element_id if value.start_node else None,
                "end": value.end_node.element_id if value.end_node else None,
                "properties": to_python(dict(value))}
    if isinstance(value, neo4j.graph.Path):
        return {"nodes": [to_python(n) for n in value.nodes],
                "relationships": [to_python(r) for r in value.relationships]}
    if isinstance(value, neo4j.spatial.Point):
        return {"srid": value.srid, "coordinates": list(value)}
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_python(v) for v in value]
    return value


def run_cypher_file(driver: neo4j.Driver, name: str, params: Mapping[str, Any] | None = None,
                    *, database: str | None = None,
                    timeout: float | None = None) -> list[dict[str, Any]]:
    """Run ``cypher/<name>.cypher`` with ``params`` in a read transaction; rows as plain dicts.

    The hook the analyses use for their Cypher twins: ``run_cypher_file(driver,
    "fanout_scanners", {"min_peers": 50})``. Values are converted by :func:`to_python`.
    """
    text = read_cypher(name)

    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        return [dict(zip(rec.keys(), map(to_python, rec.values()), strict=True))
                for rec in tx.run(_cypher(text), dict(params or {}))]

    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as s:
        rows: list[dict[str, Any]] = s.execute_read(
            work) if timeout is None else s.execute_read(
            neo4j.unit_of_work(timeout=timeout)(work))
        return rows


def graph_counts(driver: neo4j.Driver, *, database: str | None = None) -> GraphCounts:
    """Host nodes, FLOW relationships and the sum of every summed figure, as Neo4j holds them."""
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as s:
        hosts = s.run("MATCH (h:Host) RETURN count(h) AS n").single(strict=True)["n"]
        edges = s.run("MATCH ()-[r:FLOW]->() RETURN count(r) AS n").single(strict=True)["n"]
        sums = {r["field"]: int(r["total"] or 0) for r in s.run(
            "MATCH ()-[r:FLOW]->() UNWIND $fields AS field "
            "RETURN field, sum(r[field]) AS total", fields=list(SUMMED_FIELDS))}
    return GraphCounts(hosts=int(hosts), edges=int(edges),
                       sums={k: sums.get(k, 0) for k in SUMMED_FIELDS})


def wipe_graph(driver: neo4j.Driver, *, database: str | None = None) -> None:
    """Delete every node and relationship (in batches, so memory stays bounded)."""
    with driver.session(database=database) as s:
        s.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS").consume()
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 50000 ROWS").consume()


def write_ip_set(driver: neo4j.Driver, name: str, ips: Sequence[str], *,
                 database: str | None = None) -> int:
    """Make the named IP set ``name`` usable in Cypher: ``(:Host)-[:IN_SET]->(:IpSet {name})``.

    The hook for named IP sets (own, hva, whitelist, known scanners, analysis results): the
    enrichment feature calls it with the addresses of each set present in the graph. The set's
    membership is replaced, so calling it again with the same addresses changes nothing.
    Returns the number of member hosts. Query them with
    ``MATCH (h:Host)-[:IN_SET]->(:IpSet {name: $set})``.
    """
    with driver.session(database=database) as s:
        s.run("MERGE (:IpSet {name: $name})", name=name).consume()
        s.run("MATCH (:Host)-[m:IN_SET]->(:IpSet {name: $name}) "
              "CALL (m) { DELETE m } IN TRANSACTIONS OF 50000 ROWS", name=name).consume()
        members = 0
        for i in range(0, len(ips), HOST_BATCH_SIZE):
            rec = s.run("MATCH (set:IpSet {name: $name}) UNWIND $ips AS ip "
                        "MATCH (h:Host {ip: ip}) MERGE (h)-[:IN_SET]->(set) RETURN count(h) AS n",
                        name=name, ips=list(ips[i:i + HOST_BATCH_SIZE])).single(strict=True)
            members += int(rec["n"])
    return members


# ---- the batched load -----------------------------------------------------------------------
@dataclass
class LoadReport:
    """What a load wrote: hosts and relationships written, parts skipped as already loaded."""

    workspace: str
    hosts: int = 0
    relationships: int = 0
    parts_loaded: list[str] = field(default_factory=list)
    parts_skipped: list[str] = field(default_factory=list)
    batches: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    seconds: float = 0.0
    #: named IP set -> member hosts written (when the hosts part was loaded)
    ip_sets: dict[str, int] = field(default_factory=dict)

    @property
    def relationships_per_second(self) -> float:
        return self.relationships / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "relationships_per_second": round(self.relationships_per_second)}


def _fingerprint(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.parent.name}/{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def _host_files(ws: Workspace) -> list[Path]:
    base = ws.root / "hosts"
    return sorted(base.rglob("*.parquet")) if base.exists() else []


def _edge_days(ws: Workspace) -> dict[str, list[Path]]:
    days: dict[str, list[Path]] = {}
    for f in ws.edge_files():
        days.setdefault(f.parent.name.removeprefix("day="), []).append(f)
    return dict(sorted(days.items()))


def _arrow_reader(con: Any, sql: str, params: list[Any], rows: int) -> Iterator[pa.RecordBatch]:
    """Stream ``sql`` in record batches of ``rows``, on a cursor of its own (DuckDB 1.x/2.x)."""
    cur = con.cursor()
    try:
        rel = cur.sql(sql, params=params or None)
        fn = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
        yield from fn(rows)
    finally:
        cur.close()


def _columns(batch: pa.RecordBatch) -> dict[str, list[Any]]:
    return {name: col.to_pylist()
            for name, col in zip(batch.schema.names, batch.columns, strict=True)}


def _host_sql(ws: Workspace, files: list[Path]) -> tuple[str, list[Any], list[str]]:
    """SQL listing every host (edge endpoints and hosts-table rows) and its attributes."""
    import pyarrow.parquet as pq

    ips = "SELECT src_ip AS ip FROM edges UNION SELECT dst_ip AS ip FROM edges"
    if not files:
        return f"SELECT ip FROM ({ips}) ORDER BY ip", [], []  # noqa: S608 - constant text
    present = set(pq.read_schema(files[0]).names)
    props = [p for p in HOST_PROPERTIES if p in present]  # names from HOST_FIELDS only
    cols = ", ".join(f"h.{p}" for p in props)
    sql = (f"SELECT coalesce(h.ip, e.ip) AS ip{', ' + cols if cols else ''} "  # noqa: S608
           f"FROM ({ips}) e FULL OUTER JOIN "
           "(SELECT * FROM read_parquet(?, union_by_name = true)) h ON h.ip = e.ip "
           "ORDER BY ip")
    return sql, [[str(f) for f in files]], props


def _edge_column(f: Field) -> str:
    # Times travel as integer microseconds and become DateTime in Cypher: the driver's Python
    # encoding of datetime objects costs ~50 times more than the server's conversion.
    if pa.types.is_timestamp(f.type):
        return f"epoch_us({f.name}) AS {f.name}"
    if f.name == "dst_port":
        return f"CAST({f.name} AS INTEGER) AS {f.name}"
    return f.name


#: Edge rows of one day, as the columns cypher/load_edges.cypher takes ($day is one scalar).
_EDGE_SQL = (f"SELECT {EDGE_KEY_SQL} AS key, src_ip, dst_ip, "  # noqa: S608 - constants only
             + ", ".join(_edge_column(f) for f in EDGE_FIELDS if f.name in EDGE_PROPERTIES
                         and f.name != "day")
             + " FROM edges WHERE day = CAST(? AS DATE) ORDER BY src_ip, dst_ip, key")


def _prefetch(batches: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run ``batches`` in a thread, ``depth`` ahead: DuckDB and Python build the next batch
    while Neo4j writes this one."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    failure: list[BaseException] = []
    stop = threading.Event()

    def produce() -> None:
        try:
            for b in batches:
                while not stop.is_set():
                    try:
                        q.put(b, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # re-raised in the consumer
            failure.append(exc)
        finally:
            q.put(done)

    t = threading.Thread(target=produce, name="graphflow-neo4j-prefetch", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass


def load_workspace(driver: neo4j.Driver, ws: Workspace, *, batch_size: int = DEFAULT_BATCH_SIZE,
                   progress: Progress | None = None, force: bool = False,
                   database: str | None = None) -> LoadReport:
    """Load the workspace's hosts and edges into Neo4j; idempotent and resumable.

    Hosts first (the hosts table when the workspace has ``hosts/``, else every address of the
    edges with ``ip`` only), then the edges day by day, each batch of ``batch_size`` rows one
    transaction. A part (``hosts``, ``edges/<day>``) whose load marker matches the files it
    would be loaded from is skipped, unless ``force``.
    """
    t0 = time.perf_counter()
    report = LoadReport(workspace=str(ws.root), batch_size=batch_size)
    ensure_schema(driver, database=database)
    markers = {r["part"]: r["fingerprint"]
               for r in run_cypher_file(driver, "load_status", database=database)}
    host_files = _host_files(ws)
    days = _edge_days(ws)
    con = connect(ws, memory_limit=LOAD_MEMORY_LIMIT)
    try:
        day_rows = dict(con.execute(
            "SELECT CAST(day AS VARCHAR), count(*) FROM edges GROUP BY ALL").fetchall())
        host_sql, host_params, host_props = _host_sql(ws, host_files)
        hosts_total = int(con.execute(f"SELECT count(*) FROM ({host_sql})",  # noqa: S608 - ours
                                      host_params).fetchall()[0][0])
        total = hosts_total + sum(int(v) for v in day_rows.values())
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        with driver.session(database=database) as s:
            # hosts
            part, fp = "hosts", hosts_fingerprint(ws)
            if not force and markers.get(part) == fp:
                report.parts_skipped.append(part)
                tick(hosts_total)
            else:
                q_hosts = _cypher(read_cypher("load_hosts"))
                written = 0
                all_ips = [r[0] for r in con.execute(
                    f"SELECT ip FROM ({host_sql})", host_params).fetchall()]  # noqa: S608
                extras, policies = _host_extras(ws, all_ips)
                at = {ip: i for i, ip in enumerate(all_ips)}
                for batch in _prefetch(_arrow_reader(con, host_sql, host_params,
                                                     HOST_BATCH_SIZE)):
                    cols = _columns(batch)
                    rows = [{"ip": ip, "props": {**{p: cols[p][i] for p in host_props},
                                                 **{k: v[at[ip]] for k, v in extras.items()}}}
                            for i, ip in enumerate(cols["ip"])]
                    written += _write(s, q_hosts, {"rows": rows}, len(rows), part)
                    report.batches += 1
                    tick(len(rows))
                report.hosts = written
                s.execute_write(lambda tx: tx.run(_cypher(read_cypher("load_policies")),
                                                  policies).consume())
                report.ip_sets = write_ip_sets(driver, ws, all_ips, database=database)
                _mark(s, part, fp, written, ws)
                report.parts_loaded.append(part)
            # edges, day by day
            q_edges = _cypher(read_cypher("load_edges"))
            for day, files in days.items():
                part, fp = f"edges/{day}", _fingerprint(files)
                n_day = int(day_rows.get(day, 0))
                if not force and markers.get(part) == fp:
                    report.parts_skipped.append(part)
                    tick(n_day)
                    continue
                written = 0
                batches = (_columns(b) for b in _arrow_reader(con, _EDGE_SQL, [day],
                                                              batch_size))
                for cols in _prefetch(batches):
                    n = len(cols["key"])
                    written += _write(s, q_edges, {**cols, "day": dt.date.fromisoformat(day)},
                                      n, part)
                    report.batches += 1
                    tick(n)
                report.relationships += written
                _mark(s, part, fp, written, ws)
                report.parts_loaded.append(part)
    finally:
        con.close()
    report.seconds = time.perf_counter() - t0
    return report


def _write(session: neo4j.Session, query: LiteralString, params: dict[str, Any], expected: int,
           part: str) -> int:
    """One batch, one transaction (retried by the driver on transient errors: it is
    idempotent). Returns the rows written; fewer than sent means a missing host."""
    def work(tx: neo4j.ManagedTransaction) -> int:
        rec = tx.run(query, params).single(strict=True)
        return int(rec["written"])

    written: int = session.execute_write(work)
    if written != expected:
        raise GraphFlowError(f"Neo4j load of {part}: wrote {written} of {expected} rows (a host "
                             "is missing from the graph); run 'graphflow load --force'")
    return written


def _mark(session: neo4j.Session, part: str, fingerprint: str, rows: int,
          ws: Workspace) -> None:
    q = _cypher(read_cypher("load_mark"))
    session.execute_write(lambda tx: tx.run(q, part=part, fingerprint=fingerprint, rows=rows,
                                            workspace=str(ws.root)).consume())


# ---- the store object -------------------------------------------------------------------------
class Neo4jStore:
    """The host graph in Neo4j: connection plus the operations above.

    >>> Neo4jStore.backend
    'neo4j'
    """

    backend = "neo4j"

    def __init__(self, driver: neo4j.Driver, target: Neo4jTarget | None = None,
                 database: str | None = None) -> None:
        self.driver = driver
        self.target = target
        self.database = database

    @classmethod
    def open(cls, uri: str | None = None, user: str | None = None,
             password: str | None = None, *, database: str | None = None,
             env: Mapping[str, str] | None = None) -> Neo4jStore:
        """Connect by the connection rule (:func:`resolve_target`); StoreUnavailable if not."""
        target = resolve_target(uri, user, password, env=env)
        return cls(open_driver(target), target, database)

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.driver.close()

    def counts(self) -> GraphCounts:
        return graph_counts(self.driver, database=self.database)

    def load(self, ws: Workspace, **kwargs: Any) -> LoadReport:
        return load_workspace(self.driver, ws, database=self.database, **kwargs)

    def run_cypher_file(self, name: str, params: Mapping[str, Any] | None = None,
                        timeout: float | None = None) -> list[dict[str, Any]]:
        return run_cypher_file(self.driver, name, params, database=self.database,
                               timeout=timeout)
