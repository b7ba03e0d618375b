"""The two-stage readers' pipeline (``ingest.base.prefetched``): the producer runs in its own
thread, ahead by at most ``depth`` items, and neither an error nor an early stop is lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ingest.base import prefetched


def test_every_item_in_order_from_another_thread() -> None:
    where: list[int] = []

    def items() -> Iterator[int]:
        for i in range(2000):
            where.append(threading.get_ident())
            yield i

    assert list(prefetched(items())) == list(range(2000))
    assert set(where) != {threading.get_ident()}


def test_an_error_arrives_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("line 3: broken")

    got: list[int] = []
    with pytest.raises(ValueError, match="line 3"):
        for x in prefetched(items()):
            got.append(x)
    assert got == [1, 2]


def test_an_early_stop_stops_and_closes_the_producer() -> None:
    made: list[int] = []
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            for i in range(10_000):
                made.append(i)
                yield i
        finally:
            closed.set()

    gen = prefetched(items(), depth=2)
    assert [next(gen), next(gen)] == [0, 1]
    gen.close()
    assert closed.wait(5)
    # ahead by at most the queue's depth, the item in hand and the one being made
    assert len(made) <= 2 + 2 + 2
    assert not any(t.name == "graphflow-prefetch" and t.is_alive()
                   for t in threading.enumerate())
