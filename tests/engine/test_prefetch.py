"""The prefetcher keeps order, forwards errors, and stops its worker when abandoned."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from sync2.engine.prefetch import Prefetcher, prefetch


def test_same_items_in_order() -> None:
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_worker_error_reaches_consumer_after_earlier_items() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("boom at 3")

    got = []
    with pytest.raises(ValueError, match="boom at 3"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1, 2]


def test_runs_ahead_by_at_most_depth() -> None:
    produced: list[int] = []

    def counting() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    it = Prefetcher(counting(), depth=2)
    first = next(iter(it))
    time.sleep(0.3)
    assert first == 0
    assert len(produced) <= 4  # the one consumed, two queued, one blocked in put
    it.close()


def test_abandoning_stops_the_worker() -> None:
    def endless() -> Iterator[int]:
        i = 0
        while True:
            i += 1
            yield i

    before = threading.active_count()
    for item in prefetch(endless()):
        if item == 5:
            break
    time.sleep(0.3)
    assert threading.active_count() <= before
