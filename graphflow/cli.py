"""The ``graphflow`` command line: a thin layer over the library.

Conventions (every command): ``graphflow VERB [--workspace W] [--json]``. With ``--json``
exactly one JSON document goes to stdout; progress and logs go to stderr. Exit status 0 on
success, 1 on a user error (one line on stderr), 2 on bad usage.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from graphflow.config import resolve_workspace
from graphflow.errors import GraphFlowError
from graphflow.ingestion import IngestReport, ingest_files
from graphflow.memory import keep_freed_memory
from graphflow.query import (
    FlowFilter,
    host_graph,
    select_edges,
    select_flows,
    workspace_info,
)
from graphflow.schema import FLOW_FIELDS
from graphflow.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True)
out_console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 220)


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.datetime):
        return o.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(o, dt.date):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, bytes):
        return o.hex()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, default=_json_default, indent=1, sort_keys=False))


def common(f: F) -> F:
    """--workspace and --json on every command; GraphFlowError -> one line, exit 1."""

    @click.option("--workspace", "-w", "workspace", envvar="GRAPHFLOW_WORKSPACE",
                  type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Workspace directory [env GRAPHFLOW_WORKSPACE; default "
                       "./graphflow-workspace].")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except GraphFlowError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _open_ws(workspace: Path | None, create: bool = False) -> Workspace:
    return Workspace.open(resolve_workspace(workspace), create=create)


def _time_opt(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected ISO time like 2026-03-02 or "
                                 "2026-03-02T08:00") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def selection_options(*, limit: int = 1000, limit_help: str = "At most this many rows (0 = no "
                      "limit).") -> Callable[[F], F]:
    """The selection options (window, hosts, ports, protocols, limit), declared once; a
    command whose ``--limit`` means something else (``export``: 0 = all edges) says so."""

    opts = [
        click.option("--from", "start", help="Window start (ISO, UTC), inclusive."),
        click.option("--to", "end", help="Window end (ISO, UTC), exclusive."),
        click.option("--host", "hosts", multiple=True, help="IP or CIDR at either end."),
        click.option("--port", "ports", multiple=True, type=click.IntRange(0, 65535),
                     help="Destination port."),
        click.option("--proto", "protos", multiple=True, help="Protocol (tcp, udp, icmp...)."),
        click.option("--limit", type=click.IntRange(0), default=limit, show_default=True,
                     help=limit_help),
    ]

    def deco(f: F) -> F:
        for opt in reversed(opts):  # listed in --help in this order
            f = opt(f)
        return f

    return deco


def selection(f: F) -> F:
    """The selection options shared by graph and flows (exports add theirs to them)."""
    return selection_options()(f)


def _filter(start: str | None, end: str | None, hosts: tuple[str, ...],
            ports: tuple[int, ...], protos: tuple[str, ...], limit: int) -> FlowFilter:
    return FlowFilter(start=_time_opt(start), end=_time_opt(end), hosts=hosts, ports=ports,
                      protos=protos, limit=limit or None)


class _Main(click.Group):
    """The root group: the feature modules' commands are added on first use, so that any
    ``graphflow.cli_*`` module can be imported on its own (they import this one)."""

    _loaded = False

    def _load(self) -> None:
        if not _Main._loaded:
            _Main._loaded = True
            _register_commands()

    @property
    def all_commands(self) -> dict[str, click.Command]:
        """Every command, the feature modules' included (``main.commands`` before first use
        holds only the core ones)."""
        self._load()
        return dict(self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graphflow")
def main() -> None:
    """GraphFlow: load flow records into a host graph and investigate them."""
    keep_freed_memory()  # big reads: freed blocks reused, not faulted in again


# ---- ingest ---------------------------------------------------------------------------------
def _print_ingest(report: IngestReport, console: Console) -> None:
    t = Table(title=f"ingest: {len(report.files)} file(s) in {report.seconds:.1f} s")
    for col in ("file", "format", "read", "loaded", "duplicates", "rejected"):
        t.add_column(col, justify="left" if col in ("file", "format") else "right")
    for f in report.files:
        t.add_row(os.path.basename(f.path), f.format or "-", f"{f.read:,}", f"{f.loaded:,}",
                  f"{f.duplicates:,}", f"{f.rejected:,}")
    t.add_row("total", "", f"{report.read:,}", f"{report.loaded:,}", f"{report.duplicates:,}",
              f"{report.rejected:,}", style="bold")
    console.print(t)
    if report.notes:
        console.print(", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in
                                sorted(report.notes.items())))
    if report.rejects_file:
        console.print(f"rejected lines: {report.rejects_file}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", default=None, help="Input format (default: detected).")
@click.option("--no-repair", is_flag=True,
              help="VAST: keep records whose collector swapped source and destination.")
@click.option("--no-stitch", is_flag=True,
              help="nfdump/flow-tools/Argus: do not join the two directions of a connection.")
@click.option("--start", "start_s", type=float, default=None,
              help="Epoch seconds for inputs without timestamps (tshark field subsets, "
                   "flow-tools masks without time).")
@click.option("--link-header", type=click.IntRange(0), default=None,
              help="Argus: link-layer bytes per packet to subtract (default 14, Ethernet).")
@common
def ingest(paths: tuple[Path, ...], fmt: str | None, no_repair: bool, no_stitch: bool,
           start_s: float | None, link_header: int | None, workspace: Path | None,
           as_json: bool) -> None:
    """Read flow files (or directories of them) into the workspace."""
    ws = _open_ws(workspace, create=True)
    show_bar = sys.stderr.isatty()
    options = {"repair": False if no_repair else None,
               "stitch": False if no_stitch else None, "start": start_s,
               "link_header": link_header}
    report = ingest_with_progress(paths, ws, fmt=fmt, options=options)
    if as_json:
        d = report.to_dict()
        emit_json({k: d[k] for k in ("files", "read", "loaded", "duplicates", "rejected",
                                     "rejects_file", "notes", "seconds", "errors", "version")})
        _print_ingest(report, err_console) if show_bar else None
    else:
        _print_ingest(report, out_console)
    for f in report.errors:
        click.echo(f"Error: {f.error}", err=True)
    if report.errors:
        sys.exit(1)


def ingest_with_progress(paths: Sequence[Path], ws: Workspace, *, fmt: str | None = None,
                         options: dict[str, Any] | None = None) -> IngestReport:
    """:func:`ingest_files` with a progress bar on stderr when it is a terminal."""
    progress_cb = None
    bar: Progress | None = None
    if sys.stderr.isatty():
        bar = Progress(TextColumn("ingest"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TextColumn("{task.fields[rate]}"),
                       TimeRemainingColumn(), console=err_console, transient=True)
        task = bar.add_task("ingest", total=None, rate="")
        t0 = time.monotonic()

        def progress_cb(done: int, total: int, records: int) -> None:
            rate = records / max(time.monotonic() - t0, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} flows/s")

        bar.start()
    try:
        return ingest_files(list(paths), ws, fmt=fmt, progress=progress_cb, options=options)
    finally:
        if bar is not None:
            bar.stop()


# ---- info -----------------------------------------------------------------------------------
@main.command()
@common
def info(workspace: Path | None, as_json: bool) -> None:
    """What the workspace holds: flows, hosts, edges, time span."""
    ws = _open_ws(workspace)
    i = workspace_info(ws)
    if as_json:
        emit_json(i.to_dict())
        return
    t = Table(show_header=False, title=f"workspace {i.workspace}")
    for k, v in i.to_dict().items():
        t.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    out_console.print(t)


# ---- flows ----------------------------------------------------------------------------------
_FLOW_VIEW = ("ts", "src_ip", "src_port", "dst_ip", "dst_port", "proto", "state",
              "src_bytes", "dst_bytes", "src_pkts", "dst_pkts", "source_file", "source_line")


@main.command()
@selection
@click.option("--finding", "finding", default=None,
              help="Exactly the flows behind this finding's figures (from 'analyze').")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (all canonical fields).")
@common
def flows(start: str | None, end: str | None, hosts: tuple[str, ...], ports: tuple[int, ...],
          protos: tuple[str, ...], limit: int, finding: str | None, as_csv: bool,
          workspace: Path | None, as_json: bool) -> None:
    """The flows matching a filter (or behind a finding), with their source file and line."""
    ws = _open_ws(workspace)
    if finding:
        from graphflow.analyses import finding_flows

        tab = finding_flows(ws, finding, limit=limit or None)
    else:
        tab = select_flows(ws, _filter(start, end, hosts, ports, protos, limit))
    rows = tab.to_pylist()
    if as_json:
        emit_json({"count": len(rows), "flows": rows})
    elif as_csv:
        w = csv.writer(sys.stdout)
        w.writerow([f.name for f in FLOW_FIELDS])
        for r in rows:
            w.writerow([_json_default(r[f.name]) if isinstance(r[f.name], dt.datetime)
                        else r[f.name] for f in FLOW_FIELDS])
    else:
        t = Table(title=f"{len(rows)} flow(s)")
        for c in _FLOW_VIEW:
            t.add_column(c)
        for r in rows:
            vals = dict(r)
            vals["ts"] = _json_default(r["ts"])
            vals["source_file"] = os.path.basename(r["source_file"])
            t.add_row(*["" if vals[c] is None else str(vals[c]) for c in _FLOW_VIEW])
        out_console.print(t)


# ---- graph ----------------------------------------------------------------------------------
@main.command()
@selection
@click.option("--per-pair", is_flag=True, help="One edge per host pair (not per port/proto).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the graph (.graphml or .json).")
@common
def graph(start: str | None, end: str | None, hosts: tuple[str, ...], ports: tuple[int, ...],
          protos: tuple[str, ...], limit: int, per_pair: bool, output: Path | None,
          workspace: Path | None, as_json: bool) -> None:
    """The host graph for a window / host / port filter."""
    import networkx as nx

    ws = _open_ws(workspace)
    edges = select_edges(ws, _filter(start, end, hosts, ports, protos, limit),
                         per_port=not per_pair)
    g = host_graph(edges)
    doc = {
        "nodes": [{"id": n, "out_degree": g.out_degree(n), "in_degree": g.in_degree(n)}
                  for n in sorted(g.nodes)],
        "edges": edges.to_pylist(),
    }
    if output is not None:
        if output.suffix == ".graphml":
            h = nx.MultiDiGraph()
            for u, v, k, d in g.edges(keys=True, data=True):
                h.add_edge(u, v, key=k, **{a: (_json_default(b) if isinstance(
                    b, dt.datetime | dt.date) else b) for a, b in d.items() if b is not None})
            nx.write_graphml(h, output)
        else:
            output.write_text(json.dumps(doc, default=_json_default, indent=1))
    if as_json:
        emit_json({"node_count": len(doc["nodes"]), "edge_count": len(doc["edges"]),
                   "output": str(output) if output else None, **doc})
        return
    t = Table(title=f"{g.number_of_nodes()} hosts, {edges.num_rows} edges")
    cols = ["src_ip", "dst_ip"] + (["dst_port", "proto"] if not per_pair else []) + [
        "flows", "src_bytes", "dst_bytes", "s0_flows", "rej_flows", "days"]
    for c in cols:
        t.add_column(c)
    for r in edges.to_pylist():
        t.add_row(*["" if r[c] is None else str(r[c]) for c in cols])
    out_console.print(t)
    if output is not None:
        err_console.print(f"saved {output}")


#: Modules that contribute commands: each defines ``COMMANDS``, a list of click commands.
#: A feature adds its module here; a module that is not installed is skipped.
COMMAND_MODULES = (
    "graphflow.cli_demo",
    "graphflow.cli_enrich",
    "graphflow.cli_analyze",
    "graphflow.cli_neo4j",
    "graphflow.cli_export",
    "graphflow.cli_serve",
    "graphflow.cli_sql",
    "graphflow.cli_investigation",
    "graphflow.cli_plot",
    "graphflow.cli_report",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        for command in module.COMMANDS:
            main.add_command(command)
