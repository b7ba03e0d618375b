"""CLI ``graphflow plot volume|top|countries``: a chart as PNG/SVG plus its series as JSON.

Each command writes the image (``-o out.png`` or ``out.svg``, matplotlib, see
:mod:`graphflow.plots`) and the series it was drawn from beside it (``out.json``), exactly
the document the library returns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from graphflow.cli import _json_default, _open_ws, _time_opt, common, emit_json, err_console
from graphflow.plots import (
    METRICS,
    PORT_GROUPS,
    SCANNER_RANKINGS,
    country_series,
    render,
    top_series,
    volume_series,
)

__all__ = ["COMMANDS", "plot"]

_OUT = click.option("-o", "--output", required=True,
                    type=click.Path(dir_okay=False, path_type=Path),
                    help="Image file: .png or .svg (the series go to the same name .json).")
_FROM = click.option("--from", "start", help="Window start (ISO, UTC), inclusive.")
_TO = click.option("--to", "end", help="Window end (ISO, UTC), exclusive.")


def _write(doc: dict[str, Any], output: Path, as_json: bool) -> None:
    if output.suffix.lower() not in (".png", ".svg"):
        raise click.BadParameter(f"{output}: expected a .png or .svg file name",
                                 param_hint="-o")
    render(doc, output)
    side = output.with_suffix(".json")
    side.write_text(json.dumps(doc, default=_json_default, indent=1), encoding="utf-8")
    if as_json:
        emit_json({"image": str(output), "series": str(side)})
    else:
        click.echo(f"{output}\n{side}")


@click.group()
def plot() -> None:
    """Charts: volume series of a host, top-N bars, scanners by country."""


@plot.command()
@click.option("--host", required=True, help="The host (IP) whose traffic to plot.")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Only flows to this service port.")
@click.option("--ports", default=None,
              help=f"Port group ({', '.join(PORT_GROUPS)}) or comma-separated ports.")
@click.option("--hourly/--daily", "hourly", default=True, show_default=True,
              help="Bucket size.")
@_FROM
@_TO
@_OUT
@common
def volume(host: str, port: int | None, ports: str | None, hourly: bool, start: str | None,
           end: str | None, output: Path, workspace: Path | None, as_json: bool) -> None:
    """Flows, bytes and packets sent and received by a host, with the week-earlier series."""
    ws = _open_ws(workspace)
    doc = volume_series(ws, host, port=port, ports=ports,
                        granularity="hour" if hourly else "day",
                        start=_time_opt(start), end=_time_opt(end))
    if doc["week_ago"] is None:
        err_console.print("no data a week before this window: no week-earlier series")
    _write(doc, output, as_json)


@plot.command()
@click.argument("what", type=click.Choice(["talkers", "scanners"]), default="talkers")
@click.option("-n", "--top", "n", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--metric", type=click.Choice(METRICS), default="bytes", show_default=True,
              help="talkers: what to rank by.")
@click.option("--direction", type=click.Choice(["sent", "received", "total"]), default="sent",
              show_default=True, help="talkers: which direction.")
@click.option("--ranking", type=click.Choice(SCANNER_RANKINGS), default="widest",
              show_default=True,
              help="scanners: widest (own hosts reached), active (contacts), scanned (own "
                   "hosts).")
@click.option("--max-pkts", type=click.IntRange(0), default=None,
              help="scanners: low-profile packets (default: the threshold).")
@click.option("--max-bytes", type=click.IntRange(0), default=None,
              help="scanners: low-profile bytes (default: the threshold).")
@_FROM
@_TO
@_OUT
@common
def top(what: str, n: int, metric: str, direction: str, ranking: str, max_pkts: int | None,
        max_bytes: int | None, start: str | None, end: str | None, output: Path,
        workspace: Path | None, as_json: bool) -> None:
    """Top-N bars: talkers by volume, or scanners (top_scanners analysis)."""
    ws = _open_ws(workspace)
    doc = top_series(ws, what, n=n, metric=metric, direction=direction, ranking=ranking,
                     max_pkts=max_pkts, max_bytes=max_bytes, start=_time_opt(start),
                     end=_time_opt(end))
    _write(doc, output, as_json)


@plot.command()
@_FROM
@_TO
@_OUT
@common
def countries(start: str | None, end: str | None, output: Path, workspace: Path | None,
              as_json: bool) -> None:
    """External scanners (from the scan analyses' findings) per country."""
    ws = _open_ws(workspace)
    doc = country_series(ws, start=_time_opt(start), end=_time_opt(end),
                         progress=lambda name: err_console.print(f"running {name}",
                                                                 style="dim"))
    _write(doc, output, as_json)


COMMANDS = [plot]
