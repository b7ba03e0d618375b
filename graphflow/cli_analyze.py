"""``graphflow analyze``: one subcommand per registered analysis, with its typed parameters.

    graphflow analyze --list [--json]
    graphflow analyze fanout-scanners --min-peers 40 [--json | --csv] [--explain]
"""

from __future__ import annotations

import csv
import fnmatch
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from graphflow.analyses import REGISTRY, Analysis, Finding, analysis_params, run_analysis
from graphflow.analyses.context import open_context
from graphflow.cli import _open_ws, common, emit_json, out_console
from graphflow.cli_neo4j import neo4j_options, open_store
from graphflow.config import Thresholds
from graphflow.errors import GraphFlowError

__all__ = ["COMMANDS", "filter_findings"]


def filter_findings(findings: list[Finding], hosts: dict[str, dict[str, Any]], *,
                    cidrs: tuple[str, ...] = (), countries: tuple[str, ...] = (),
                    asns: tuple[int, ...] = (), dns: tuple[str, ...] = ()) -> list[Finding]:
    """Keep findings whose entity (or a member) matches every given filter."""
    nets = []
    for c in cidrs:
        try:
            nets.append(ipaddress.ip_network(c, strict=False))
        except ValueError:
            raise GraphFlowError(f"--cidr {c!r}: not a CIDR") from None

    def match(ip: str) -> bool:
        try:
            a = ipaddress.ip_address(ip)
        except ValueError:
            return False
        h = hosts.get(ip, {})
        if nets and not any(a.version == n.version and a in n for n in nets):
            return False
        if countries and (h.get("country") or "").upper() not in {c.upper() for c in countries}:
            return False
        if asns and h.get("asn") not in set(asns):
            return False
        names = h.get("dns") or []
        return not dns or any(fnmatch.fnmatch(n.lower(), d.lower()) for n in names for d in dns)

    return [f for f in findings if any(match(ip) for ip in [f.entity, *f.members])]


def _print(findings: list[Finding], as_json: bool, as_csv: bool) -> None:
    if as_json:
        emit_json([f.to_dict() for f in findings])
        return
    if as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(["id", "analysis", "entity", "members", "figures", "evidence"])
        for f in findings:
            w.writerow([f.id, f.analysis, f.entity, " ".join(f.members),
                        json.dumps(f.figures, default=str), json.dumps(f.evidence, default=str)])
        return
    t = Table(title=f"{len(findings)} finding(s)")
    for c in ("id", "entity", "members", "figures"):
        t.add_column(c, overflow="fold")
    for f in findings:
        figs = {k: v for k, v in f.figures.items() if not isinstance(v, dict | list)}
        mem = ", ".join(f.members[:5]) + (f" (+{len(f.members) - 5})" if len(f.members) > 5
                                          else "")
        t.add_row(f.id, f.entity, mem, ", ".join(f"{k}={v}" for k, v in figs.items()))
    out_console.print(t)


def _run_neo4j(a: Analysis, params: dict[str, Any], with_hosts: bool, uri: str | None,
               user: str | None, password: str | None,
               ) -> tuple[list[Finding], dict[str, dict[str, Any]]]:
    """Findings from the Cypher twin, and (for the filters) the properties of their hosts."""
    from graphflow.analyses.neo4j_backend import run_analysis_neo4j
    from graphflow.stores.neo4j import run_cypher_file

    with open_store(uri, user, password) as store:
        findings = run_analysis_neo4j(store.driver, a.name, params)
        hosts: dict[str, dict[str, Any]] = {}
        if with_hosts and findings:
            ips = sorted({ip for f in findings for ip in [f.entity, *f.members]})
            hosts = {r["ip"]: r for r in run_cypher_file(store.driver, "hosts_by_ip",
                                                          {"ips": ips})}
    return findings, hosts


def _make_command(a: Analysis) -> click.Command:
    def callback(workspace: Path | None, as_json: bool, as_csv: bool, explain: bool,
                 cidrs: tuple[str, ...], countries: tuple[str, ...], asns: tuple[int, ...],
                 dns: tuple[str, ...], backend: str, neo4j_uri: str | None,
                 neo4j_user: str | None, neo4j_password: str | None, **params: Any) -> None:
        if explain:
            if as_json:
                emit_json({"name": a.name, "explain": a.explain})
            else:
                click.echo(a.explain)
            return
        given = {k: v for k, v in params.items() if v is not None}
        filtering = bool(cidrs or countries or asns or dns)
        if backend == "neo4j":
            findings, hosts = _run_neo4j(a, given, filtering, neo4j_uri, neo4j_user,
                                         neo4j_password)
        else:
            ws = _open_ws(workspace)
            findings = run_analysis(ws, a.name, given)
            hosts = {}
            if filtering:
                with open_context(ws) as ctx:
                    hosts = {r["ip"]: r for r in ctx.rows("SELECT * FROM hosts")}
        if filtering:
            findings = filter_findings(findings, hosts, cidrs=cidrs, countries=countries,
                                       asns=asns, dns=dns)
        _print(findings, as_json, as_csv)

    cmd = common(callback)
    for p in reversed(a.params):
        default = getattr(Thresholds(), p.default_from) if p.default_from else p.default
        if p.type is bool:
            cmd = click.option(f"--{p.name.replace('_', '-')}/--no-{p.name.replace('_', '-')}",
                               p.name, default=None, help=f"{p.help} [default: {default}]")(cmd)
        else:
            cmd = click.option(f"--{p.name.replace('_', '-')}", p.name, type=p.type,
                               default=None, help=f"{p.help} [default: {default}]")(cmd)
    cmd = click.option("--cidr", "cidrs", multiple=True,
                       help="Keep findings about hosts in this CIDR.")(cmd)
    cmd = click.option("--country", "countries", multiple=True,
                       help="Keep findings about hosts in this country (ISO code).")(cmd)
    cmd = click.option("--asn", "asns", multiple=True, type=int,
                       help="Keep findings about hosts in this ASN.")(cmd)
    cmd = click.option("--dns", "dns", multiple=True,
                       help="Keep findings about hosts whose DNS name matches (e.g. "
                            "'*.example.com').")(cmd)
    cmd = neo4j_options(cmd)
    cmd = click.option("--backend", type=click.Choice(["embedded", "neo4j"]),
                       default="embedded", show_default=True,
                       help="Run on the embedded workspace or, through the analysis's Cypher "
                            "twin, on Neo4j (same findings and ids).")(cmd)
    cmd = click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")(cmd)
    cmd = click.option("--explain", is_flag=True, help="Say what the analysis computes.")(cmd)
    return click.command(name=a.name.replace("_", "-"), help=a.summary)(cmd)


@click.group(invoke_without_command=True)
@click.option("--list", "show_list", is_flag=True, help="List every analysis and its parameters.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_context
def analyze(ctx: click.Context, show_list: bool, as_json: bool) -> None:
    """Run an investigation analysis (see --list); findings lead back to their flows."""
    if ctx.invoked_subcommand is not None:
        return
    if not show_list:
        click.echo(ctx.get_help())
        return
    doc: list[dict[str, Any]] = [{
            "name": a.name, "command": a.name.replace("_", "-"), "summary": a.summary,
            "cypher": a.cypher,
            "params": [{"name": p.name, "type": p.type.__name__, "help": p.help,
                        "default": analysis_params(a.name)[p.name],
                        "default_from": p.default_from} for p in a.params]}
           for a in REGISTRY.values()]
    if as_json:
        emit_json(doc)
        return
    t = Table(title="analyses")
    for c in ("command", "summary", "parameters (defaults)"):
        t.add_column(c, overflow="fold")
    for d in doc:
        t.add_row(d["command"], d["summary"], ", ".join(
            f"{p['name']}={p['default']}" for p in d["params"]))
    out_console.print(t)


for _a in REGISTRY.values():
    analyze.add_command(_make_command(_a))

COMMANDS = [analyze]
