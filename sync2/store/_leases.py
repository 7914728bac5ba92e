"""The worker's side of a lease: hold a source while syncing it, and know at once when lost.

Several ``sync2 run`` workers on one passport share the sources. Before a worker syncs a source
it takes the source's lease (``PassportStore.acquire_lease``); a background thread renews it
every third of its length; the worker checks :attr:`LeaseKeeper.lost` between batches and stops
that source when the lease went away (a long pause, a network split). A worker that dies stops
renewing, so its lease expires and another worker takes the source over. Usage::

    keeper = LeaseKeeper(store, lease_name("hospital-a"), owner=worker_id(), ttl_seconds=30)
    if keeper.acquire():
        with keeper:  # renews in the background, releases on exit
            for batch in batches:
                if keeper.lost:
                    break  # another worker may own the source now: stop, do not apply
                store.apply(batch, cursor)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from types import TracebackType

from .._errors import StoreError
from ._protocols import Leases

log = logging.getLogger(__name__)


def lease_name(source: str) -> str:
    """The lease that guards one source.

    >>> lease_name("hospital-a")
    'source:hospital-a'
    """
    return f"source:{source}"


def worker_id() -> str:
    """A name for this worker that is unique across hosts and restarts (host, pid, random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Holds one lease and renews it in a daemon thread until released or lost.

    Args:
        store: the passport whose ``leases`` collection (or table) arbitrates.
        name: the lease, e.g. :func:`lease_name` of a source.
        owner: this worker's id; the same owner may re-acquire its own lease at once.
        ttl_seconds: the lease length (config: how long a dead worker's sources wait).
        renew_every: seconds between renewals; a third of ``ttl_seconds`` by default, so two
            renewals may fail (a slow store) before the lease expires.
    """

    def __init__(
        self,
        store: Leases,
        name: str,
        *,
        owner: str,
        ttl_seconds: float,
        renew_every: float | None = None,
    ) -> None:
        if ttl_seconds <= 0:
            msg = f"lease {name}: ttl_seconds must be positive"
            raise ValueError(msg)
        self.store = store
        self.name = name
        self.owner = owner
        self.ttl_seconds = ttl_seconds
        self.renew_every = renew_every if renew_every is not None else ttl_seconds / 3
        self._held = False
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """True between a successful :meth:`acquire` and :meth:`release` or loss."""
        return self._held and not self._lost.is_set()

    @property
    def lost(self) -> bool:
        """True once a renewal failed: stop syncing the source, it may be someone else's now."""
        return self._lost.is_set()

    def acquire(self) -> bool:
        """Try once to take the lease; on success start renewing it in the background."""
        if self.held:
            return True
        if not self.store.acquire_lease(self.name, self.owner, self.ttl_seconds):
            return False
        self._held = True
        self._lost.clear()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"lease {self.name}", daemon=True
        )
        self._thread.start()
        return True

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                renewed = self.store.renew_lease(self.name, self.owner, self.ttl_seconds)
            except StoreError as exc:
                # The store may be back before the lease expires; the next tick retries.
                log.warning("lease %s: renewal failed: %s", self.name, exc)
                continue
            if not renewed:
                log.warning("lease %s: lost (expired or taken over)", self.name)
                self._lost.set()
                return

    def release(self) -> None:
        """Stop renewing and give the lease up, so another worker can take it at once."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None
        if self._held and not self._lost.is_set():
            try:
                self.store.release_lease(self.name, self.owner)
            except StoreError as exc:  # it will expire by itself
                log.warning("lease %s: release failed: %s", self.name, exc)
        self._held = False

    def __enter__(self) -> LeaseKeeper:
        if not self.held and not self.acquire():
            msg = f"lease {self.name} is held by another worker"
            raise StoreError(msg)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
