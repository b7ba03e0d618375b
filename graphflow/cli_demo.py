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
from graphflow.ingestion import ingest_files
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
@common
def demo(out: Path, seed: int, days: int, flows_per_day: int, start: str, fmt: str,
         rotate: bool, workspace: Path | None, as_json: bool) -> None:
    """Generate demo data, ingest it into the workspace and print what stands out."""
    gen = _generate(out, seed, days, flows_per_day, start, fmt, rotate)
    ws = Workspace.open(resolve_workspace(workspace))
    target = out / ("conn" if rotate else "conn.log")
    err_console.print(f"ingesting {target} into {ws.root}")
    report = ingest_files([target], ws)
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
        return
    out_console.print(f"generated {gen['flows']} flows into {out}; loaded {report.loaded:,} "
                      f"flows ({report.rejected} rejected) into {ws.root}")
    t = Table(title="findings")
    for c in ("analysis", "count", "entities (first 6)"):
        t.add_column(c, overflow="fold")
    for name, found in summary.items():
        ents = [str(f["entity"]) for f in found]
        t.add_row(name.replace("_", "-"), str(len(found)), ", ".join(ents[:6]))
    out_console.print(t)
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
