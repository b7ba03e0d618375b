"""CLI commands ``export`` (graph files for Gephi, Graphviz and others) and ``afterglow``
(AfterGlow's command line, with its own short options)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from graphflow.afterglow import AfterglowOptions, run_afterglow
from graphflow.cli import _filter, common, emit_json, err_console, selection_options
from graphflow.config import resolve_workspace
from graphflow.errors import GraphFlowError
from graphflow.exports import FORMATS, Selection, export_graph, render_dot, with_sets
from graphflow.exports.properties import read_properties
from graphflow.exports.selection import WorkspaceSets
from graphflow.rules import RuleSet, load_rules
from graphflow.workspace import Workspace

__all__ = ["COMMANDS", "afterglow", "export"]

F = TypeVar("F", bound=Callable[..., Any])


def _selection_options(f: F) -> F:
    """The selection of ``graphflow graph`` (every edge by default), plus neighbourhood, named
    sets, findings and the aggregation level."""
    extra = [
        click.option("--around", multiple=True, metavar="IP",
                     help="Only the k-hop neighbourhood of this host."),
        click.option("--hops", type=click.IntRange(0), default=1, show_default=True,
                     help="k for --around."),
        click.option("--set", "sets", multiple=True, metavar="NAME",
                     help="Hosts of a named set (rules file 'sets:', or the workspace's: own, "
                          "hva, role:NAME, graphflow sets) at either end."),
        click.option("--finding", "finding_id", metavar="ID",
                     help="Only the hosts and edges of an analysis finding."),
        click.option("--per-pair/--per-port", "per_pair", default=True,
                     help="One edge per host pair (default), or per pair and port/proto "
                          "(parallel edges, AfterGlow's duplicate-edge mode)."),
    ]
    for opt in reversed(extra):
        f = opt(f)
    return selection_options(limit=0, limit_help="At most this many edges, the heaviest first "
                             "(0 = all).")(f)


def _rules(path: Path | None) -> RuleSet | None:
    if path is None:
        return None
    if path.suffix == ".properties":
        return read_properties(path)
    return load_rules(path)


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(FORMATS)))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File to write (csv: a directory for nodes.csv and edges.csv); default "
                   "stdout.")
@_selection_options
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Styling rules (YAML, or an AfterGlow .properties file).")
@click.option("--render", multiple=True, type=click.Choice(["svg", "png", "pdf"]),
              help="dot only: also render with Graphviz (repeatable).")
@common
def export(fmt: str, output: Path | None, start: str | None, end: str | None,
           hosts: tuple[str, ...], ports: tuple[int, ...], protos: tuple[str, ...], limit: int,
           around: tuple[str, ...], hops: int, sets: tuple[str, ...], finding_id: str | None,
           per_pair: bool, rules_file: Path | None, render: tuple[str, ...],
           workspace: Path | None, as_json: bool) -> None:
    """Write the host graph of a selection as GDF, GEXF, DOT, GraphML, Cytoscape JSON or CSV."""
    ws = Workspace.open(resolve_workspace(workspace), create=False)
    rules = _rules(rules_file)
    flt = _filter(start, end, hosts, ports, protos, limit)
    named = WorkspaceSets(ws, rules.sets if rules else None)
    if sets:
        flt = with_sets(flt, sets, named)
    sel = Selection(flt=flt, per_port=not per_pair, around=around, hops=hops,
                    finding_id=finding_id)
    if output is None and (fmt == "csv" or render):
        raise GraphFlowError(f"{'csv' if fmt == 'csv' else '--render'} needs -o")
    if render and fmt != "dot":
        raise GraphFlowError("--render is for the dot format")
    target: Any = output if output is not None else sys.stdout.buffer
    report = export_graph(ws, fmt, target, sel, rules, sets=named)
    rendered = [str(render_dot(output, r)) for r in render] if output is not None else []
    doc = {**report.to_dict(), "rendered": rendered}
    if as_json:
        emit_json(doc)
    else:
        err_console.print(f"{fmt}: {report.nodes:,} nodes, {report.edges:,} edges, "
                          f"{report.bytes:,} bytes in {report.seconds:.2f} s"
                          + (f" -> {output}" if output else "")
                          + "".join(f", {r}" for r in rendered))


def _errors(f: F) -> F:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except GraphFlowError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-i", "input_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read CSV from this file instead of stdin.")
@click.option("-w", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("-c", "properties", type=click.Path(dir_okay=False, path_type=Path),
              help="AfterGlow property file (or GraphFlow rules, .yaml).")
@click.option("-t", "two_nodes", is_flag=True, help="Two-node mode (source, target).")
@click.option("-f", "source_fanout", type=click.IntRange(0), default=0,
              help="Source fan-out threshold: draw sources with more distinct peers.")
@click.option("-g", "event_fanout", type=click.IntRange(0), default=0,
              help="Event fan-out threshold (three-node mode).")
@click.option("-o", "omit", type=click.IntRange(0), default=0,
              help="Omit threshold: an edge needs both ends seen more than this often.")
@click.option("-p", "split_mode", type=click.IntRange(0, 3), default=0,
              help="Event node split: 0 one per event, 1 per source, 2 per target, 3 per "
                   "source and target.")
@click.option("-n", "no_labels", is_flag=True, help="No node labels.")
@click.option("-m", "max_node_size", type=float, default=0.2, help="Maximum node size.")
@click.option("-e", "edge_length", type=float, default=1.5, help="Edge length.")
@click.option("-b", "skip", type=click.IntRange(0), default=0, help="Skip this many lines.")
@click.option("-l", "max_lines", type=click.IntRange(1), default=None,
              help="Read at most this many lines.")
@click.option("-k", "gdf", is_flag=True, help="Write GDF (Gephi) instead of DOT.")
@click.option("-s", "split_nodes", is_flag=True, help="Split source and target nodes.")
@click.option("-d", "node_count", is_flag=True, help="Add each node's count to its label.")
@click.option("-a", "plain_label", is_flag=True,
              help="Do not put the options used into the graph's label.")
@click.option("-x", "label_color", default="black", help="Label text colour.")
@click.option("-r", "print_sources", is_flag=True, help="Print source node names (stderr).")
@click.option("-v", "verbose", is_flag=True, help="Say what was done (stderr).")
@click.option("-q", "quiet", is_flag=True, help="Print nothing but errors.")
@click.option("-j", "graphson", is_flag=True, hidden=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON summary on stdout (needs -w).")
@_errors
def afterglow(input_file: Path | None, output: Path | None, properties: Path | None,
              two_nodes: bool, source_fanout: int, event_fanout: int, omit: int,
              split_mode: int, no_labels: bool, max_node_size: float, edge_length: float,
              skip: int, max_lines: int | None, gdf: bool, split_nodes: bool, node_count: bool,
              plain_label: bool, label_color: str, print_sources: bool, verbose: bool,
              quiet: bool, graphson: bool, as_json: bool) -> None:
    """AfterGlow 1.6.6's command line: CSV (source,event,target or source,target) in, DOT or
    GDF out, styled by an AfterGlow property file."""
    if graphson:
        raise GraphFlowError("-j (GraphSON) is not supported; use 'graphflow export cytoscape'")
    if as_json and output is None:
        raise GraphFlowError("--json needs -w FILE (the graph would share stdout)")
    opts = AfterglowOptions(two_nodes=two_nodes, source_fanout=source_fanout,
                            event_fanout=event_fanout, omit=omit, split_mode=split_mode,
                            no_labels=no_labels, max_node_size=max_node_size,
                            edge_length=edge_length, skip=skip, max_lines=max_lines, gdf=gdf,
                            split_nodes=split_nodes, node_count=node_count,
                            plain_label=plain_label, label_color=label_color)
    target: Any = output if output is not None else sys.stdout.buffer
    report = run_afterglow(input_file, target, opts, properties)
    if print_sources and not quiet:
        for name in report.source_labels:
            click.echo(name, err=True)
    if as_json:
        emit_json(report.to_dict())
    elif verbose and not quiet:
        err_console.print(f"afterglow: {report.lines:,} lines, {report.nodes:,} nodes, "
                          f"{report.edges:,} edges ({report.format}) in {report.seconds:.2f} s")


COMMANDS = [export, afterglow]
