"""A small response cache for the JSON API.

A workspace snapshot never changes (a new ingest or a rebuilt hosts table makes a new
snapshot, see :mod:`web.source`), so a GET answer can be kept and served again for the same
path and query string: back/forward, re-opened panels and several analysts looking at the same
view cost one computation. Bounded by entries and bytes (least recently used first out);
``GRAPHFLOW_RESPONSE_CACHE`` = 0 turns it off. Only 200 answers are kept.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, request

__all__ = ["ResponseCache", "cached"]

F = TypeVar("F", bound=Callable[..., Response])


class ResponseCache:
    """LRU of response bodies.

    >>> c = ResponseCache(entries=2, max_bytes=100)
    >>> c.put("a", b"1"); c.put("b", b"2"); c.put("c", b"3")
    >>> c.get("a"), c.get("c")
    (None, b'3')
    """

    def __init__(self, entries: int = 256, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[Any, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            body = self._data.get(key)
            if body is not None:
                self._data.move_to_end(key)
            return body

    def put(self, key: Any, body: bytes) -> None:
        if self.entries <= 0 or len(body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._data[key] = body
            self._bytes += len(body)
            while len(self._data) > self.entries or self._bytes > self.max_bytes:
                _, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped)


def cached(view: F) -> F:
    """Serve a GET view's 200 answers from the app's ResponseCache (per snapshot)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        cache: ResponseCache | None = current_app.extensions.get("graphflow_cache")
        if cache is None or cache.entries <= 0:
            return view(*args, **kwargs)
        snap_key = current_app.extensions["graphflow"].source.snapshot().key
        key = (snap_key, request.path, tuple(sorted(request.args.items(multi=True))))
        body = cache.get(key)
        if body is not None:
            resp = Response(body, mimetype="application/json")
            resp.headers["X-GraphFlow-Cache"] = "hit"
            return resp
        resp = view(*args, **kwargs)
        if resp.status_code == 200 and resp.mimetype == "application/json":
            cache.put(key, resp.get_data())
            resp.headers["X-GraphFlow-Cache"] = "miss"
        return resp

    return wrapper  # type: ignore[return-value]
