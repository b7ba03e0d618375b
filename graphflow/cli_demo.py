"""CLI commands around synthetic data: ``generate``, ``demo``; and ``schema``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table

from graphflow.cli import common, emit_json, err_console, out_console
from graphflow.config import resolve_workspace
from graphflow.schema import EDGE_FIELDS, FLOW_FIELDS
from graphflow.workspace import Workspace

__all__ = ["COMMANDS", "demo", "generate", "schema"]

F = TypeVar("F", bound=Callable[..., Any])


def _gen_options(f: F) -> F:
    f = click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")(f)
    f = click.option("--days", type=click.IntRange(1), default=14, show_default=True,
                     help="Number of days.")(f)
    f = click.option("--flows-per-day", type=click.IntRange(1), default=20_000,
                     show_default=True, help="Background flows per weekday.")(f)
    f = click.option("--start", default="2026-03-02", show_default=True,
                     help="UTC date of day 0.")(f)
    f = click.option("--format", "fmt", type=click.Choice(["tsv", "json"]), default="tsv",
                     show_default=True, help="Zeek TSV or JSON lines.")(f)
    f = click.option("--rotate", is_flag=True,
                     help="Write hourly-rotated gzip logs in a directory, as Zeek does.")(f)
    return f


def _generate(out: Path, seed: int, days: int, flows_per_day: int, start: str, fmt: str,
              rotate: bool) -> dict[str, object]:
    from graphflow.generate import GeneratorConfig
    from graphflow.generate import generate as run

    cfg = GeneratorConfig(seed=seed, days=days, flows_per_day=flows_per_day, start=start,
                          fmt=fmt, rotate=rotate)
    truth = run(cfg, out)
    doc: dict[str, Any] = truth.to_dict() if hasattr(truth, "to_dict") else dataclasses.asdict(
        truth)
    return {
        "out_dir": str(out),
        "flows": doc.get("flows"),
        "positives": len(doc.get("positives", [])),
        "near_misses": len(doc.get("near_misses", [])),
        "lookalikes": len(doc.get("lookalikes", [])),
        "ground_truth": str(out / "ground_truth.json"),
    }


@click.command()
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("graphflow-demo-data"), show_default=True,
              help="Directory to write conn.log and ground_truth.json into.")
@_gen_options
@common
def generate(out: Path, seed: int, days: int, flows_per_day: int, start: str, fmt: str,
             rotate: bool, workspace: Path | None, as_json: bool) -> None:
    """Write a synthetic enterprise network (Zeek conn.log) with planted attackers and its
    ground truth."""
    summary = _generate(out, seed, days, flows_per_day, start, fmt, rotate)
    if as_json:
        emit_json(summary)
        return
    t = Table(show_header=False, title="generated")
    for k, v in summary.items():
        t.add_row(k, str(v))
    out_console.print(t)


@click.command()
@click.option("--data", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("graphflow-demo-data"), show_default=True,
              help="Where to write the demo data.")
@_gen_options
@click.option("--files", "files", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="Your own flow files or directories (any supported format) instead of "
                   "generated data (repeatable).")
@click.option("--serve", is_flag=True,
              help="Then serve the web UI on the workspace (127.0.0.1; Ctrl-C to stop).")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="Port of the web UI with --serve.")
@common
@click.pass_context
def demo(ctx: click.Context, out: Path, seed: int, days: int, flows_per_day: int, start: str,
         fmt: str, rotate: bool, files: tuple[Path, ...], serve: bool, port: int,
         workspace: Path | None, as_json: bool) -> None:
    """Generate demo data (or take your own files), ingest it into the workspace, print what
    stands out, and with --serve open the web UI on it."""
    from graphflow.cli import _print_ingest, ingest_with_progress

    ws = Workspace.open(resolve_workspace(workspace))
    if files:
        gen: dict[str, Any] = {"flows": None, "ground_truth": None,
                               "files": [str(f) for f in files]}
        err_console.print(f"ingesting {len(files)} path(s) into {ws.root}")
        report = ingest_with_progress(files, ws)
        _print_ingest(report, err_console)
    else:
        gen = _generate(out, seed, days, flows_per_day, start, fmt, rotate)
        target = out / ("conn" if rotate else "conn.log")
        err_console.print(f"ingesting {target} into {ws.root}")
        report = ingest_with_progress([target], ws)
        _enrich_from_side_files(ws, out)
    from graphflow.analyses import REGISTRY, run_analysis

    summary: dict[str, list[dict[str, object]]] = {}
    for name in REGISTRY:
        if name in ("low_traffic",):
            continue
        summary[name] = [f.to_dict() for f in run_analysis(ws, name)]
    if as_json:
        emit_json({"generate": gen, "ingest": {k: v for k, v in report.to_dict().items()
                                               if k != "files"},
                   "workspace": str(ws.root), "findings": summary})
    else:
        _print_demo(gen, out, report.loaded, report.rejected, ws, summary)
    for f in report.errors:
        click.echo(f"Error: {f.error}", err=True)
    if serve:
        from graphflow.cli_serve import serve as serve_command

        ctx.invoke(serve_command, port=port, host="127.0.0.1", threads=4, rules_file=None,
                   neo4j_uri=None, neo4j_user=None, neo4j_password=None, workspace=ws.root,
                   as_json=False)
    if report.errors:
        ctx.exit(1)


def _print_demo(gen: dict[str, Any], out: Path, loaded: int, rejected: int, ws: Workspace,
                summary: dict[str, list[dict[str, object]]]) -> None:
    made = (f"generated {gen['flows']} flows into {out}; " if gen.get("flows") is not None
            else "")
    out_console.print(f"{made}loaded {loaded:,} flows ({rejected} rejected) into {ws.root}")
    t = Table(title="findings")
    for c in ("analysis", "count", "entities (first 6)"):
        t.add_column(c, overflow="fold")
    for name, found in summary.items():
        ents = [str(f["entity"]) for f in found]
        t.add_row(name.replace("_", "-"), str(len(found)), ", ".join(ents[:6]))
    out_console.print(t)
    if gen.get("ground_truth"):
        out_console.print(f"ground truth: {gen['ground_truth']}")
    out_console.print("details: graphflow analyze NAME --workspace " + str(ws.root)
                      + "; flows behind a finding: graphflow flows --finding ID")


def _enrich_from_side_files(ws: Workspace, out: Path) -> None:
    """Load the generator's inventory, whitelist, names and passive DNS into the hosts table."""
    from graphflow.hosts import enrich

    dns = (str(out / "dns.log"),) if (out / "dns.log").exists() else ()
    enrich(ws, assets=str(out / "assets.json"), whitelist=str(out / "whitelist.txt"),
           names=(str(out / "names.csv"),), dns_logs=dns)


@click.command()
@click.option("--table", type=click.Choice(["flows", "edges"]), default="flows",
              show_default=True)
@common
def schema(table: str, workspace: Path | None, as_json: bool) -> None:
    """The canonical schema: every field with its type and meaning."""
    fields = FLOW_FIELDS if table == "flows" else EDGE_FIELDS
    if as_json:
        emit_json([{"name": f.name, "type": str(f.type), "nullable": f.nullable, "doc": f.doc}
                   for f in fields])
        return
    t = Table(title=f"{table} schema")
    for c in ("field", "type", "nullable", "meaning"):
        t.add_column(c)
    for f in fields:
        t.add_row(f.name, str(f.type), "yes" if f.nullable else "no", f.doc)
    out_console.print(t)


COMMANDS = [generate, demo, schema]
