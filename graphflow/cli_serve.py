"""``graphflow serve``: the investigation web UI for a workspace."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from graphflow.cli import common, err_console
from graphflow.config import load_config, resolve_workspace
from graphflow.workspace import Workspace

__all__ = ["COMMANDS", "serve"]


@click.command()
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="TCP port (0 = any free port).")
@click.option("--host", "-H", default="127.0.0.1", show_default=True,
              help="Address to listen on. The UI has no authentication: keep the loopback "
                   "default unless the network is trusted.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Worker threads.")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Styling rules file (YAML) for the UI's 'styling rules' "
                                 "mode and the exports [default: the built-in rules].")
@click.option("--neo4j", "neo4j_uri", default=None, metavar="URI",
              help="Neo4j for the Cypher console [else env NEO4J_URI, else the server of "
                   "'graphflow neo4j start'].")
@click.option("--neo4j-user", envvar="NEO4J_USER", default=None, help="[env NEO4J_USER]")
@click.option("--neo4j-password", envvar="NEO4J_PASSWORD", default=None,
              help="[env NEO4J_PASSWORD]")
@common
def serve(port: int, host: str, threads: int, rules_file: Path | None, neo4j_uri: str | None,
          neo4j_user: str | None, neo4j_password: str | None, workspace: Path | None,
          as_json: bool) -> None:
    """Serve the investigation web UI (graph, panels, findings, exports) for the workspace,
    on waitress, bound to 127.0.0.1 by default."""
    from web import create_app
    from web.server import is_loopback, make_server
    from web.styling import load_rules_file

    ws = Workspace.open(resolve_workspace(workspace), create=False)
    loopback = is_loopback(host)
    settings = {"TRUSTED_HOSTS": ["127.0.0.1", "localhost", "::1", "[::1]", host]
                if loopback else None, "GRAPHFLOW_RULES": load_rules_file(rules_file),
                "GRAPHFLOW_NEO4J": (neo4j_uri, neo4j_user, neo4j_password)}
    cache = os.environ.get("GRAPHFLOW_WEB_CACHE", "")  # answers kept in memory (0 = none)
    if cache:
        if not cache.isdigit():
            raise click.BadParameter(f"GRAPHFLOW_WEB_CACHE={cache!r}: expected a count")
        settings["GRAPHFLOW_RESPONSE_CACHE"] = int(cache)
    app = create_app(load_config(), ws, settings=settings)
    run, bound_host, bound_port = make_server(app, host, port, threads)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}/"
    if not loopback:
        err_console.print(f"[bold red]warning:[/] listening on {host}: anyone who can reach this "
                          "machine can read the workspace (no authentication).")
    if as_json:
        click.echo(json.dumps({"url": url, "host": bound_host, "port": bound_port,
                               "workspace": str(ws.root)}))
        sys.stdout.flush()
    else:
        err_console.print(f"serving {ws.root} at {url} (Ctrl-C to stop)")
    try:
        run()
    except KeyboardInterrupt:
        pass


COMMANDS = [serve]
