"""CLI commands around Neo4j: ``neo4j start|status|stop|import``, ``load``, ``cypher``.

Every command that talks to Neo4j takes :func:`neo4j_options` (``--neo4j URI``,
``--neo4j-user``, ``--neo4j-password``) and connects with :func:`open_store`, which applies the
one connection rule (see :mod:`graphflow.stores.neo4j`). Other command modules (e.g.
``analyze --backend neo4j``) reuse both.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from graphflow import neo4j_server as server
from graphflow.cli import _open_ws, common, emit_json, err_console, out_console
from graphflow.stores.neo4j import DEFAULT_BATCH_SIZE, LoadReport, Neo4jStore
from graphflow.stores.neo4j_console import DEFAULT_LIMIT, DEFAULT_TIMEOUT, run_read_only

__all__ = ["COMMANDS", "cypher", "load", "neo4j_group", "neo4j_options", "open_store"]

F = TypeVar("F", bound=Callable[..., Any])


def neo4j_options(f: F) -> F:
    """``--neo4j URI``, ``--neo4j-user``, ``--neo4j-password`` (env NEO4J_USER/PASSWORD)."""
    f = click.option("--neo4j-password", "neo4j_password", envvar="NEO4J_PASSWORD",
                     default=None, help="Password [env NEO4J_PASSWORD].")(f)
    f = click.option("--neo4j-user", "neo4j_user", envvar="NEO4J_USER", default=None,
                     help="User [env NEO4J_USER; none: the local server needs no login].")(f)
    f = click.option("--neo4j", "neo4j_uri", default=None, metavar="URI",
                     help="Bolt URI, e.g. bolt://127.0.0.1:7687 [else env NEO4J_URI, else the "
                          "server of 'graphflow neo4j start'].")(f)
    return f


def open_store(neo4j_uri: str | None, neo4j_user: str | None,
               neo4j_password: str | None) -> Neo4jStore:
    """Connect by the connection rule; StoreUnavailable (exit 1, one line) when nothing answers."""
    return Neo4jStore.open(neo4j_uri, neo4j_user, neo4j_password)


# ---- neo4j start|status|stop|import --------------------------------------------------------
@click.group("neo4j")
def neo4j_group() -> None:
    """Run a local Neo4j (no Docker needed: Java 17 and Maven build it once)."""


@neo4j_group.command("start")
@click.option("--port", type=click.IntRange(0, 65535), default=server.DEFAULT_PORT,
              show_default=True, help="Bolt port on 127.0.0.1 (0 = any free port).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Neo4j home directory [default ~/.graphflow/neo4j, or "
                                 "$GRAPHFLOW_HOME/neo4j].")
@click.option("--page-cache", default=server.DEFAULT_PAGE_CACHE, show_default=True,
              help="Page cache size (e.g. 512m, 2g).")
@click.option("--heap", default=server.DEFAULT_HEAP, show_default=True,
              help="Java heap size (e.g. 1g).")
@common
def start(port: int, data_dir: Path | None, page_cache: str, heap: str,
          workspace: Path | None, as_json: bool) -> None:
    """Start Neo4j in the background; print its Bolt URI once it accepts connections."""
    if not server.server_status().running:
        err_console.print("starting Neo4j (the first start builds the launcher with Maven)...")
    state, started = server.start_server(port=port, data_dir=data_dir, page_cache=page_cache,
                                         heap=heap)
    if as_json:
        emit_json({**state.to_dict(), "started": started})
    else:
        if not started:
            err_console.print(f"already running (pid {state.pid})")
        click.echo(state.uri)


@neo4j_group.command("status")
@common
def status(workspace: Path | None, as_json: bool) -> None:
    """Whether the server started by 'graphflow neo4j start' runs; its URI and data."""
    st = server.server_status()
    if as_json:
        emit_json(st.to_dict())
        return
    if st.state is None:
        out_console.print("not running (no server started by 'graphflow neo4j start')")
        return
    word = "running" if st.running else "not running (stale state file)"
    out_console.print(f"{word}: {st.state.uri} pid {st.state.pid} data {st.state.data_dir} "
                      f"log {st.state.log_file}")


@neo4j_group.command("stop")
@common
def stop(workspace: Path | None, as_json: bool) -> None:
    """Stop the server started by 'graphflow neo4j start' (clean shutdown)."""
    stopped = server.stop_server()
    if as_json:
        emit_json({"stopped": stopped is not None,
                   **(stopped.to_dict() if stopped else {})})
        return
    out_console.print(f"stopped {stopped.uri} (pid {stopped.pid})" if stopped
                      else "not running")


@neo4j_group.command("import")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Neo4j home directory [default: that of 'neo4j start'].")
@click.option("--heap", default="2g", show_default=True, help="Java heap for the importer.")
@common
def bulk(data_dir: Path | None, heap: str, workspace: Path | None, as_json: bool) -> None:
    """Bulk-load the workspace with Neo4j's importer (fast, offline; REPLACES the database).

    Stop the server first; this starts it again afterwards, adds the indexes and the load
    markers, so later 'graphflow load' runs only write what changed.
    """
    from graphflow.stores.neo4j_bulk import bulk_import, finish_bulk_load

    ws = _open_ws(workspace)
    st = server.server_status()
    data_dir = data_dir or (Path(st.state.data_dir) if st.state else
                            server.graphflow_home() / "neo4j")
    if st.running and st.state and Path(st.state.data_dir).absolute() == data_dir.absolute():
        raise click.ClickException("the server is running on that data directory: run "
                                   "'graphflow neo4j stop' first (the import replaces it)")
    err_console.print(f"exporting and importing {ws.root} into {data_dir} ...")
    report = bulk_import(ws, data_dir, heap=heap)
    state, _ = server.start_server(data_dir=data_dir,
                                   port=st.state.port if st.state else server.DEFAULT_PORT)
    with Neo4jStore.open(state.uri) as store:
        index_s = finish_bulk_load(store.driver, ws)
    doc = {**report.to_dict(), "index_seconds": round(index_s, 2), "uri": state.uri}
    if as_json:
        emit_json(doc)
        return
    out_console.print(f"imported {report.hosts:,} hosts and {report.relationships:,} "
                      f"relationships in {report.import_seconds:.1f} s "
                      f"({report.relationships_per_second:,.0f} relationships/s; export "
                      f"{report.export_seconds:.1f} s, indexes {index_s:.1f} s); serving "
                      f"{state.uri}")


# ---- load -----------------------------------------------------------------------------------
@click.command()
@neo4j_options
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH_SIZE,
              show_default=True, help="Relationships per write transaction.")
@click.option("--force", is_flag=True, help="Rewrite every part, even those already loaded.")
@common
def load(neo4j_uri: str | None, neo4j_user: str | None, neo4j_password: str | None,
         batch_size: int, force: bool, workspace: Path | None, as_json: bool) -> None:
    """Load the workspace's hosts and edges into Neo4j (idempotent; resumes if interrupted)."""
    ws = _open_ws(workspace)
    with open_store(neo4j_uri, neo4j_user, neo4j_password) as store:
        err_console.print(f"loading {ws.root} into {store.target.uri if store.target else ''}")
        bar = Progress(TextColumn("load"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                       console=err_console, transient=True, disable=not sys.stderr.isatty())
        task = bar.add_task("load", total=None, rate="")
        t0 = time.monotonic()

        def progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - t0, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} rows/s")

        with bar:
            report = store.load(ws, batch_size=batch_size, progress=progress, force=force)
        counts = store.counts()
    if as_json:
        emit_json({**report.to_dict(), "graph": counts.to_dict()})
        return
    _print_load(report, counts.hosts, counts.edges)


def _print_load(report: LoadReport, hosts: int, edges: int) -> None:
    out_console.print(
        f"wrote {report.hosts:,} hosts and {report.relationships:,} relationships in "
        f"{report.seconds:.1f} s ({report.relationships_per_second:,.0f} relationships/s, "
        f"{report.batches} batches); {len(report.parts_skipped)} part(s) already loaded")
    out_console.print(f"graph: {hosts:,} hosts, {edges:,} FLOW relationships")


# ---- cypher ---------------------------------------------------------------------------------
def _param(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for v in values:
        name, sep, raw = v.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{v!r}: expected NAME=VALUE", param_hint="--param")
        try:
            params[name] = json.loads(raw)
        except ValueError:
            params[name] = raw
    return params


@click.command()
@click.argument("query")
@neo4j_options
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Query parameter $NAME (VALUE as JSON, else as a string).")
@click.option("--limit", type=click.IntRange(0), default=DEFAULT_LIMIT, show_default=True,
              help="At most this many rows (0 = no limit).")
@click.option("--timeout", type=click.FloatRange(0.1), default=DEFAULT_TIMEOUT,
              show_default=True, help="Time limit in seconds.")
@common
def cypher(query: str, neo4j_uri: str | None, neo4j_user: str | None,
           neo4j_password: str | None, params: tuple[str, ...], limit: int, timeout: float,
           workspace: Path | None, as_json: bool) -> None:
    """Run a read-only Cypher QUERY (writes are refused) with a time and a row limit."""
    with open_store(neo4j_uri, neo4j_user, neo4j_password) as store:
        result = run_read_only(store.driver, query, _param(params), limit=limit,
                               timeout=timeout)
    if as_json:
        emit_json(result.to_dict())
        return
    t = Table(title=f"{len(result.rows)} row(s){' (truncated)' if result.truncated else ''} "
                    f"in {result.seconds:.2f} s")
    for c in result.columns:
        t.add_column(c)
    for r in result.rows:
        t.add_row(*[_cell(r[c]) for c in result.columns])
    out_console.print(t)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dict | list):
        from graphflow.cli import _json_default

        return json.dumps(v, default=_json_default)
    return str(v)


COMMANDS = [neo4j_group, load, cypher]
