"""Live reverse DNS (PTR) lookups: off by default, bounded by a timeout, cached.

Only used when asked (``graphflow enrich --reverse-dns``): lookups leave the machine, are slow
and change over time. Each address is resolved at most once per cache lifetime; failures and
timeouts are cached too (as an empty list), so a dead resolver costs one timeout per address
once. The cache lives in the workspace (``meta/ptr-cache.json``).
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from collections.abc import Iterable

__all__ = ["reverse_lookup"]


def _one(ip: str) -> list[str]:
    try:
        name, aliases, _ = socket.gethostbyaddr(ip)
    except (OSError, UnicodeError):
        return []
    return [n.rstrip(".").lower() for n in [name, *aliases] if n]


def reverse_lookup(ips: Iterable[str], cache: dict[str, dict[str, object]], *,
                   timeout: float = 1.0, max_age: float = 7 * 86400.0, workers: int = 16,
                   max_lookups: int = 10_000) -> dict[str, list[str]]:
    """PTR names of ``ips``; ``cache`` (ip -> {"names", "time"}) is read and updated in place.

    At most ``max_lookups`` new lookups run, ``workers`` at a time, each given ``timeout``
    seconds; one that has not answered by then counts as no name.
    """
    now = time.time()
    out: dict[str, list[str]] = {}
    todo: list[str] = []
    for ip in ips:
        hit = cache.get(ip)
        if hit is not None and now - float(hit.get("time", 0)) < max_age:  # type: ignore[arg-type]  # JSON number
            out[ip] = list(hit.get("names", []))  # type: ignore[call-overload]  # JSON list
        elif len(todo) < max_lookups:
            todo.append(ip)
    if not todo:
        return out
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {ip: pool.submit(_one, ip) for ip in todo}
        deadline = time.monotonic() + timeout * (len(todo) / workers + 1)
        for ip, fut in futures.items():
            try:
                names = fut.result(timeout=max(0.0, min(timeout, deadline - time.monotonic())))
            except concurrent.futures.TimeoutError:
                names = []
            out[ip] = names
            cache[ip] = {"names": names, "time": now}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return out
