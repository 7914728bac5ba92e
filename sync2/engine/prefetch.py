"""Run an iterator one or two steps ahead in a background thread.

The source's next batch (HTTP, JSON parsing) is fetched while the engine maps and stores the
current one. Order is kept; the consumer still commits batch by batch, so a crash loses nothing:
prefetched batches were never applied, and their cursors never written. A worker exception is put
on the queue with the items, so the consumer always sees it, at the point it happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _Done:
    pass


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetcher(Generic[T]):
    """Iterate ``source`` in a daemon thread, at most ``depth`` items ahead.

    Closing it (or leaving a ``with`` block, or garbage collection of a finished iteration)
    stops the worker at its next step.
    """

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._source = source
        self._queue: queue.Queue[T | _Done | _Raised] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync2-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as exc:  # forwarded to the consumer, raised there
            self._put(_Raised(exc))
            return
        self._put(_Done())

    def _put(self, item: T | _Done | _Raised) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Done):
                    return
                if isinstance(item, _Raised):
                    raise item.exc
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        close = getattr(self._source, "close", None)
        if close is not None and not self._thread.is_alive():
            close()

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefetch(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``iter(Prefetcher(source, depth))``: the same items, in order, produced ahead."""
    return iter(Prefetcher(source, depth))
