"""``graphflow sql``: read-only SQL over the workspace tables (library: :mod:`graphflow.sql`)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from rich.table import Table

from graphflow.cli import _open_ws, common, emit_json, out_console
from graphflow.sql import (
    DEFAULT_LIMIT,
    DEFAULT_TIMEOUT,
    SqlError,
    SqlResult,
    get_example,
    jsonable_value,
    list_examples,
    run_sql,
)

__all__ = ["COMMANDS", "sql"]


def _param(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, eq, value = v.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"{v!r}: expected NAME=VALUE", param_hint="--param")
        out[name.strip()] = value
    return out


def _text(v: object) -> str:
    j = jsonable_value(v)
    if j is None:
        return ""
    return j if isinstance(j, str) else json.dumps(j)


def _print(result: SqlResult, as_csv: bool) -> None:
    if as_csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(result.columns)
        for r in result.rows:
            w.writerow([_text(v) for v in r])
    else:
        more = f", first {result.limit} shown (--limit)" if result.truncated else ""
        t = Table(title=f"{len(result.rows)} row(s){more} in {result.seconds:.2f} s")
        for c in result.columns:
            t.add_column(c)
        for r in result.rows:
            t.add_row(*[_text(v) for v in r])
        out_console.print(t)
    if result.truncated:
        click.echo(f"truncated: more than {result.limit} rows; raise --limit", err=True)


@click.command()
@click.argument("query", required=False)
@click.option("--example", "example", default=None, metavar="NAME",
              help="Run a shipped example query (see --examples).")
@click.option("--examples", "list_only", is_flag=True, help="List the example queries.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Value for a $NAME placeholder (repeatable).")
@click.option("--file", "-f", "query_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Read the query from a file.")
@click.option("--limit", type=click.IntRange(1), default=DEFAULT_LIMIT, show_default=True,
              help="At most this many rows (more: reported as truncated).")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=DEFAULT_TIMEOUT,
              show_default=True, help="Stop the query after this many seconds.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@common
def sql(query: str | None, example: str | None, list_only: bool, params: tuple[str, ...],
        query_file: Path | None, limit: int, timeout: float, as_csv: bool,
        workspace: Path | None, as_json: bool) -> None:
    """Run one read-only SELECT over the tables flows, edges, hosts, rejects, findings.

    Only a single SELECT (or WITH ... SELECT) runs; anything else, and any attempt to read a
    file or another database, is refused. Values go in as $name placeholders with --param.
    """
    if list_only:
        exs = list_examples()
        if as_json:
            emit_json({"examples": [e.to_dict() for e in exs]})
            return
        for e in exs:
            ps = " ".join(f"{k}={d}" if d is not None else f"{k}=?" for k, (d, _h)
                          in e.params.items())
            click.echo(f"{e.name}: {e.title}" + (f"  [{ps}]" if ps else ""))
        return
    given = _param(params)
    sources = [x for x in (query, example, query_file) if x is not None]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of QUERY, --example NAME, --file PATH")
    if example is not None:
        ex = get_example(example)
        text, bound = ex.sql, ex.bind(given)
    elif query_file is not None:
        try:
            text = query_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SqlError(f"cannot read {query_file}: {exc.strerror}") from None
        bound = given
    else:
        text, bound = str(query), given
    result = run_sql(_open_ws(workspace), text, bound, limit=limit, timeout=timeout)
    if as_json:
        emit_json(result.to_dict())
        if result.truncated:
            click.echo(f"truncated: more than {result.limit} rows; raise --limit", err=True)
        return
    _print(result, as_csv)


COMMANDS = [sql]
