"""CLI ``graphflow report``: the security synthesis as one HTML file (and a PDF of it)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from graphflow.cli import _open_ws, _time_opt, common, emit_json, err_console, out_console
from graphflow.report import SECTIONS, check_base_url, print_pdf, render_html, report_data

__all__ = ["COMMANDS", "report"]


def _count(section: object) -> int:
    if isinstance(section, dict):
        return len(section.get("countries", []))
    return len(section) if isinstance(section, list) else 0


@click.command()
@click.option("--from", "start", help="Window start (ISO, UTC): whole UTC days.")
@click.option("--to", "end", help="Window end (ISO, UTC), exclusive.")
@click.option("--max-pkts", type=click.IntRange(0), default=20, show_default=True,
              help="Low-profile exchange: at most this many packets (both directions).")
@click.option("--max-bytes", type=click.IntRange(0), default=2000, show_default=True,
              help="Low-profile exchange: at most this many bytes (both directions).")
@click.option("--top", type=click.IntRange(1), default=5, show_default=True,
              help="Ranks per ranking (ties included), ingress jumps, senders per peak.")
@click.option("--base-url", default=None,
              help="The web UI's address (e.g. http://127.0.0.1:8050): rows link to findings.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also print it to this PDF (headless Chromium).")
@common
def report(start: str | None, end: str | None, max_pkts: int, max_bytes: int, top: int,
           base_url: str | None, output: Path, pdf: Path | None, workspace: Path | None,
           as_json: bool) -> None:
    """The security synthesis report: scanners, ingress jumps, groups, violations, HVAs."""
    check_base_url(base_url)
    ws = _open_ws(workspace)

    def progress(step: str, done: int, total: int) -> None:
        if step != "done":
            err_console.print(f"[{done + 1}/{total}] {step}", style="dim")

    data = report_data(ws, start=_time_opt(start), end=_time_opt(end), max_pkts=max_pkts,
                       max_bytes=max_bytes, top=top, progress=progress)
    output.write_text(render_html(data, base_url=base_url), encoding="utf-8")
    if pdf is not None:
        err_console.print("printing the PDF", style="dim")
        print_pdf(output, pdf)
    counts = {sid: _count(data["sections"][sid]) for sid, _ in SECTIONS}
    if as_json:
        emit_json({"output": str(output), "pdf": str(pdf) if pdf else None,
                   "window": data["window"], "params": data["params"], "rows": counts})
        return
    t = Table(title=f"security synthesis: {output}" + (f" and {pdf}" if pdf else ""))
    t.add_column("section")
    t.add_column("rows", justify="right")
    for sid, title in SECTIONS:
        t.add_row(title, str(counts[sid]))
    out_console.print(t)


COMMANDS = [report]
