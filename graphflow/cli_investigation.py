"""``graphflow investigation``: saved views (library: :mod:`graphflow.investigations`)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import click
import yaml
from rich.table import Table

from graphflow.cli import _open_ws, common, emit_json, out_console
from graphflow.errors import GraphFlowError
from graphflow.investigations import (
    LIST_KEYS,
    Investigation,
    delete_investigation,
    export_investigations,
    get_investigation,
    import_investigations,
    list_investigations,
    save_investigation,
    view_url,
)

__all__ = ["COMMANDS", "investigation"]


@click.group()
def investigation() -> None:
    """Saved investigations: named views (filters, selection, styling, notes)."""


@investigation.command("list")
@click.option("--no-builtins", is_flag=True, help="Only the saved ones.")
@common
def list_(no_builtins: bool, workspace: Path | None, as_json: bool) -> None:
    """The saved investigations, then the built-in library."""
    invs = list_investigations(_open_ws(workspace), builtins=not no_builtins)
    if as_json:
        emit_json({"investigations": [i.to_dict() for i in invs]})
        return
    t = Table(title=f"{len(invs)} investigation(s)")
    for c in ("name", "slug", "kind", "updated", "description"):
        t.add_column(c)
    for i in invs:
        t.add_row(i.name, i.slug, "built-in" if i.builtin else "saved", i.updated or "",
                  i.description)
    out_console.print(t)


@investigation.command()
@click.argument("name")
@common
def show(name: str, workspace: Path | None, as_json: bool) -> None:
    """One investigation and the web UI address that reopens it."""
    ws = _open_ws(workspace)
    inv = get_investigation(ws, name)
    doc = {**inv.to_dict(), "url": view_url(ws, inv)}
    if as_json:
        emit_json(doc)
        return
    click.echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), nl=False)


@investigation.command()
@click.argument("name")
@click.option("--view", default="", metavar="URL|QUERY",
              help="The graph page's address (or its ?query) to save.")
@click.option("--description", default="", help="One line.")
@click.option("--notes", default="", help="Free text.")
@click.option("--window-days", type=click.IntRange(1, 3660), default=None,
              help="Open on the last N days of data instead of fixed dates.")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Styling rules (YAML) to keep with the view.")
@click.option("--overwrite/--no-overwrite", default=False, show_default=True,
              help="Replace a saved investigation of the same name.")
@common
def save(name: str, view: str, description: str, notes: str, window_days: int | None,
         rules_file: Path | None, overwrite: bool, workspace: Path | None,
         as_json: bool) -> None:
    """Save a view of the graph page as a named investigation."""
    ws = _open_ws(workspace)
    query = urlparse(view).query if "?" in view or "://" in view else view.lstrip("?")
    params = {k: (v if k in LIST_KEYS else v[-1])
              for k, v in parse_qs(query, keep_blank_values=False).items()}
    inv = Investigation.from_query(name, params, description=description, notes=notes,
                                   window_days=window_days)
    if rules_file is not None:
        try:
            rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise GraphFlowError(f"{rules_file}: cannot read the rules ({exc})") from None
        inv = Investigation.from_query(name, params, description=description, notes=notes,
                                       window_days=window_days, styling={
                                           **inv.styling, "rules": rules})
    saved = save_investigation(ws, inv, overwrite=overwrite)
    if as_json:
        emit_json({**saved.to_dict(), "url": view_url(ws, saved)})
    else:
        click.echo(f"saved {saved.slug}: {view_url(ws, saved)}")


@investigation.command()
@click.argument("name")
@common
def delete(name: str, workspace: Path | None, as_json: bool) -> None:
    """Delete a saved investigation."""
    delete_investigation(_open_ws(workspace), name)
    if as_json:
        emit_json({"deleted": name})
    else:
        click.echo(f"deleted {name}")


@investigation.command()
@click.argument("names", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to a file (default: stdout).")
@common
def export(names: tuple[str, ...], fmt: str, output: Path | None, workspace: Path | None,
           as_json: bool) -> None:
    """Export investigations (default: every saved one) as JSON or YAML."""
    text = export_investigations(_open_ws(workspace), list(names) or None,
                                 fmt="json" if as_json else fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@investigation.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace saved investigations of the same name.")
@common
def import_(path: Path, overwrite: bool, workspace: Path | None, as_json: bool) -> None:
    """Import investigations from an exported JSON or YAML file ('-': stdin)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GraphFlowError(f"{path}: {exc.strerror}") from None
    saved = import_investigations(_open_ws(workspace), text, overwrite=overwrite,
                                  source=str(path))
    if as_json:
        emit_json({"imported": [i.to_dict() for i in saved]})
    else:
        click.echo(f"imported {len(saved)}: " + ", ".join(i.slug for i in saved))


COMMANDS = [investigation]
