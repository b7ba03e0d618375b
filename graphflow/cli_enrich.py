"""CLI commands for enrichment and the asset model: ``enrich``, ``assets``, ``sets``, ``hosts``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml
from rich.table import Table
from rich.text import Text

from graphflow.cli import common, emit_json, err_console, out_console
from graphflow.config import resolve_workspace
from graphflow.errors import WorkspaceError
from graphflow.hosts import (
    HostFilter,
    HostsReport,
    build_hosts,
    hosts_status,
    select_hosts,
)
from graphflow.hosts import (
    enrich as run_enrich,
)
from graphflow.ipsets import (
    IPSet,
    combine_sets,
    delete_set,
    list_sets,
    load_set,
    parse_network,
    read_cidr_file,
    save_set,
)
from graphflow.workspace import Workspace

__all__ = ["COMMANDS", "assets", "enrich", "hosts", "sets"]


def _ws(workspace: Path | None) -> Workspace:
    return Workspace.open(resolve_workspace(workspace), create=False)


def _print_report(r: HostsReport) -> None:
    t = Table(show_header=False, title=f"hosts table: {r.hosts:,} hosts in {r.seconds:.1f} s")
    for k in ("own", "hva", "whitelisted", "with_country", "with_asn", "with_dns",
              "geo_lookups", "asn_lookups"):
        t.add_row(k, f"{getattr(r, k):,}")
    for kind, db in r.databases.items():
        t.add_row(f"{kind} database", f"{db['database_type']} ({db['path']})")
    if r.reread:
        t.add_row("re-read", "\n".join(r.reread))
    out_console.print(t)
    for w in r.warnings:
        err_console.print(f"warning: {w}")


# ---- enrich -----------------------------------------------------------------------------------
@click.command()
@click.option("--city-db", type=click.Path(dir_okay=False, path_type=Path),
              help="MaxMind City or Country database (.mmdb) [default: the GeoLite2 City "
                   "database of the maxminddb-geolite2 package, if installed].")
@click.option("--asn-db", type=click.Path(dir_okay=False, path_type=Path),
              help="MaxMind ASN database (.mmdb).")
@click.option("--dns-log", "dns_logs", multiple=True, type=click.Path(dir_okay=False,
              path_type=Path), help="Zeek dns.log (TSV or JSON, .gz ok); repeat for more. "
                                    "Replaces the remembered list.")
@click.option("--names", "names", multiple=True, type=click.Path(dir_okay=False,
              path_type=Path), help="Name table: CSV with a header naming ip and name; "
                                    "repeat for more.")
@click.option("--assets", type=click.Path(dir_okay=False, path_type=Path),
              help="Asset inventory: YAML, its JSON form (e.g. the generator's assets.json) "
                   "or a CSV asset list (docs/assets.md).")
@click.option("--whitelist", type=click.Path(dir_okay=False, path_type=Path),
              help="Plain whitelist: one IP or CIDR per line, # comments.")
@click.option("--reverse-dns/--no-reverse-dns", default=None,
              help="Live reverse (PTR) lookups, with timeout and cache [default: off].")
@click.option("--reverse-dns-timeout", type=click.FloatRange(0.05, 30), default=None,
              help="Seconds per reverse lookup [default 1].")
@click.option("--default-city-db/--no-default-city-db", default=None,
              help="Use the packaged GeoLite2 City database when no --city-db is given.")
@click.option("--reset", is_flag=True, help="Forget the remembered settings first.")
@common
def enrich(city_db: Path | None, asn_db: Path | None, dns_logs: tuple[Path, ...],
           names: tuple[Path, ...], assets: Path | None, whitelist: Path | None,
           reverse_dns: bool | None, reverse_dns_timeout: float | None,
           default_city_db: bool | None, reset: bool, workspace: Path | None,
           as_json: bool) -> None:
    """Enrich every host (GeoIP, ASN, DNS names, inventory) and rebuild the hosts table.

    Settings are remembered in the workspace: later runs (and every ingest) reuse them, and
    only what changed is re-read. Flows and edges are not touched.
    """
    changes: dict[str, Any] = {}
    for key, value in (("city_db", city_db), ("asn_db", asn_db), ("assets", assets),
                       ("whitelist", whitelist), ("reverse_dns", reverse_dns),
                       ("reverse_dns_timeout", reverse_dns_timeout),
                       ("default_city_db", default_city_db)):
        if value is not None:
            changes[key] = value
    if dns_logs:
        changes["dns_logs"] = dns_logs
    if names:
        changes["names"] = names
    ws = _ws(workspace)
    report = run_enrich(ws, reset=reset, progress=lambda m: err_console.print(m)
                        if sys.stderr.isatty() else None, **changes)
    if as_json:
        emit_json(report.to_dict())
        return
    _print_report(report)


# ---- assets -----------------------------------------------------------------------------------
@click.group()
def assets() -> None:
    """The asset inventory: check a file, convert one, show the workspace's."""


def _summary(inv: Any) -> dict[str, Any]:
    return {"own_networks": [str(n) for n in inv.own_cidrs], "ranges": len(inv.ranges),
            "assets": len(inv.assets), "hvas": [str(n) for n in inv.hvas.cidrs()],
            "roles": sorted(inv.roles()), "role_policies": sorted(inv.role_policies),
            "defaults": inv.defaults is not None, "whitelist": len(inv.whitelist),
            "known_scanners": len(inv.known_scanners), "sets": sorted(inv.sets)}


@assets.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@common
def assets_check(file: Path, workspace: Path | None, as_json: bool) -> None:
    """Validate an inventory file; every problem is shown with its line and field."""
    from ingest.enrich.inventory import InventoryError, read_inventory

    try:
        inv = read_inventory(file)
    except InventoryError as exc:
        if as_json:
            emit_json({"ok": False, "problems": [p.__dict__ for p in exc.problems]})
        else:
            for p in exc.problems:
                click.echo(str(p), err=True)
            click.echo(f"{len(exc.problems)} problem(s) in {file}", err=True)
        sys.exit(1)
    doc = _summary(inv)
    if as_json:
        emit_json({"ok": True, "problems": [], "summary": doc})
        return
    out_console.print(f"{file}: OK: {len(doc['own_networks'])} own network(s), "
                      f"{doc['ranges']} range(s), {doc['assets']} asset(s), "
                      f"{len(doc['hvas'])} HVA block(s), {len(doc['role_policies'])} role "
                      f"policies, {doc['whitelist']} whitelisted")


@assets.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the YAML here (default: stdout).")
@common
def assets_import(file: Path, output: Path | None, workspace: Path | None,
                  as_json: bool) -> None:
    """Convert an inventory (JSON form such as the generator's assets.json, or a CSV asset
    list) into the documented YAML format."""
    from ingest.enrich.inventory import read_inventory

    doc = read_inventory(file).to_doc()
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    text = f"# GraphFlow asset inventory (docs/assets.md), converted from {file.name}\n" + text
    if output is not None:
        output.write_text(text, encoding="utf-8")
    if as_json:
        emit_json({"output": str(output) if output else None, "inventory": doc})
    elif output is None:
        click.echo(text, nl=False)
    else:
        err_console.print(f"wrote {output}")


@assets.command("show")
@common
def assets_show(workspace: Path | None, as_json: bool) -> None:
    """The inventory kept in the workspace (from the last 'graphflow enrich --assets')."""
    from graphflow.assets import default_inventory, load_inventory

    inv = load_inventory(_ws(workspace))
    doc = (inv or default_inventory()).to_doc()
    doc["is_default"] = inv is None
    if as_json:
        emit_json(doc)
        return
    if inv is None:
        err_console.print("no inventory: own networks are private and unique-local space")
    click.echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), nl=False)


# ---- sets -------------------------------------------------------------------------------------
@click.group()
def sets() -> None:
    """Named IP sets (own, hva, whitelist, known-scanners, role:NAME, your own): list, show,
    define, combine with union / intersection / difference, delete."""


@sets.command("list")
@common
def sets_list(workspace: Path | None, as_json: bool) -> None:
    """Every named set with its source and size."""
    infos = list_sets(_ws(workspace))
    if as_json:
        emit_json([i.to_dict() for i in infos])
        return
    t = Table(title=f"{len(infos)} IP set(s)")
    for c in ("name", "source", "cidrs", "ipv4 addresses", "ipv6 addresses", "description"):
        t.add_column(c)
    for i in infos:
        t.add_row(i.name, i.source, f"{i.cidrs:,}", f"{i.ipv4_addresses:,}",
                  f"{i.ipv6_addresses:,}", i.description)
    out_console.print(t)


@sets.command("show")
@click.argument("name")
@common
def sets_show(name: str, workspace: Path | None, as_json: bool) -> None:
    """The CIDRs of a set (minimal list, IPv4 then IPv6)."""
    s = load_set(_ws(workspace), name)
    cidrs = [str(c) for c in s.cidrs()]
    if as_json:
        emit_json({"name": name, **s.summary(), "cidr_list": cidrs})
        return
    for c in cidrs:
        click.echo(c)


def _print_saved(name: str, s: IPSet, version: int, as_json: bool) -> None:
    if as_json:
        emit_json({"name": name, **s.summary(), "cidr_list": [str(c) for c in s.cidrs()],
                   "version": version})
    else:
        info = s.summary()
        out_console.print(f"set {name}: {info['cidrs']} CIDR(s), {info['ipv4_addresses']:,} "
                          f"IPv4 and {info['ipv6_addresses']:,} IPv6 addresses")


@sets.command("define")
@click.argument("name")
@click.argument("cidrs", nargs=-1)
@click.option("--file", "files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CIDR list file (one per line, # comments); repeat for more.")
@click.option("--description", default="", help="What the set holds.")
@common
def sets_define(name: str, cidrs: tuple[str, ...], files: tuple[Path, ...], description: str,
                workspace: Path | None, as_json: bool) -> None:
    """Save a set from CIDRs / IPs given here and/or in files (replaces a set of that name)."""
    if not cidrs and not files:
        raise click.UsageError("give CIDRs and/or --file")
    try:
        s = IPSet(parse_network(c) for c in cidrs)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    for f in files:
        s = s | read_cidr_file(f)[0]
    ws = _ws(workspace)
    _print_saved(name, s, save_set(ws, name, s, description=description), as_json)


@sets.command("combine")
@click.argument("name")
@click.argument("expr", nargs=-1, required=True)
@click.option("--description", default="", help="What the set holds.")
@common
def sets_combine(name: str, expr: tuple[str, ...], description: str, workspace: Path | None,
                 as_json: bool) -> None:
    """Save NAME = A OP B [OP C ...], left to right; operands are set names, CIDRs or @file,
    OP is + (union), & (intersection) or - (difference).

    Example: graphflow sets combine ext-scanners known-scanners + @feed.txt - own
    """
    ws = _ws(workspace)
    s = combine_sets(ws, list(expr))
    version = save_set(ws, name, s, description=description or " ".join(expr),
                       source="combined")
    _print_saved(name, s, version, as_json)


@sets.command("delete")
@click.argument("name")
@common
def sets_delete(name: str, workspace: Path | None, as_json: bool) -> None:
    """Remove a saved set."""
    version = delete_set(_ws(workspace), name)
    if as_json:
        emit_json({"deleted": name, "version": version})
    else:
        out_console.print(f"deleted set {name}")


# ---- hosts ------------------------------------------------------------------------------------
_HOST_VIEW = ("ip", "own", "hva", "role", "name", "country", "city", "asn", "as_org", "dns",
              "address_class")


@click.command()
@click.option("--own/--external", "own", default=None, help="Only own (or only external) hosts.")
@click.option("--hva", is_flag=True, default=None, help="Only high-value assets.")
@click.option("--whitelisted", is_flag=True, default=None, help="Only whitelisted hosts.")
@click.option("--role", "roles", multiple=True, help="Inventory role (repeatable).")
@click.option("--country", "countries", multiple=True, help="ISO country code (repeatable).")
@click.option("--asn", "asns", multiple=True, type=int, help="AS number (repeatable).")
@click.option("--class", "classes", multiple=True, help="Address class, e.g. private, bogon.")
@click.option("--cidr", "--host", "cidrs", multiple=True, help="IP or CIDR (repeatable).")
@click.option("--set", "set_names", multiple=True, help="Named IP set (repeatable).")
@click.option("--dns", "dns", multiple=True, help="DNS name pattern, e.g. '*.example.com'.")
@click.option("--limit", type=click.IntRange(0), default=0, help="At most this many (0: all).")
@click.option("--no-refresh", is_flag=True,
              help="Show the table as it is even if its sources changed.")
@common
def hosts(own: bool | None, hva: bool | None, whitelisted: bool | None, roles: tuple[str, ...],
          countries: tuple[str, ...], asns: tuple[int, ...], classes: tuple[str, ...],
          cidrs: tuple[str, ...], set_names: tuple[str, ...], dns: tuple[str, ...], limit: int,
          no_refresh: bool, workspace: Path | None, as_json: bool) -> None:
    """The hosts table: every address with own/hva/role/name, country, city, ASN, DNS names and
    address class. Rebuilt first when the edges or the enrichment sources changed."""
    ws = _ws(workspace)
    if not no_refresh:
        stale = hosts_status(ws)
        if stale:
            err_console.print(f"hosts table out of date ({stale[0]}): rebuilding")
            try:
                build_hosts(ws)
            except WorkspaceError as exc:
                err_console.print(f"warning: not rebuilt: {exc}")
    f = HostFilter(own=own, hva=hva, whitelisted=whitelisted, roles=roles, countries=countries,
                   asns=asns, classes=classes, cidrs=cidrs, sets=set_names, dns=dns,
                   limit=limit or None)
    rows = select_hosts(ws, f).to_pylist()
    if as_json:
        emit_json(rows)
        return
    t = Table(title=f"{len(rows):,} host(s)")
    for c in _HOST_VIEW:
        t.add_column(c)
    for r in rows:
        vals = dict(r)
        ns = r["dns"] or []
        vals["dns"] = (ns[0] + (f" (+{len(ns) - 1})" if len(ns) > 1 else "")) if ns else None
        # Text cells: names from the network are never read as rich markup
        t.add_row(*[Text("" if vals[c] is None else str(vals[c])) for c in _HOST_VIEW])
    out_console.print(t)


COMMANDS = [enrich, assets, sets, hosts]
