"""Serving the app on waitress, a production WSGI server (not Flask's development server).

The default bind is 127.0.0.1: the UI has no authentication, and the workspace holds who
talked to whom. Binding elsewhere is allowed (``--host``) with a warning. On a loopback bind
the Host header must be a loopback name too, which defeats DNS-rebinding attacks from web
pages the analyst visits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from flask import Flask

__all__ = ["is_loopback", "make_server"]


def is_loopback(host: str) -> bool:
    """
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(app: Flask, host: str, port: int, threads: int = 4) -> tuple[Callable[[], None],
                                                                             str, int]:
    """Bind (port 0 = a free port) and return (run_forever, host, bound port)."""
    from waitress.server import create_server

    server = create_server(app, host=host, port=port, threads=threads, ident="graphflow",
                           clear_untrusted_proxy_headers=True, channel_timeout=60)
    bound = int(getattr(server, "effective_port", port))
    return server.run, host, bound
