"""A circuit breaker per source: a dead hospital costs one refused call, not a timeout per record.

    closed --(threshold consecutive failures)--> open --(cool-down passes)--> half-open
    half-open --(the probe call succeeds)--> closed
    half-open --(the probe call fails)-----> open (for another cool-down)

The transport asks :meth:`CircuitBreaker.check` before every request and reports each outcome with
:meth:`record_success` / :meth:`record_failure`. While the breaker is open, ``check`` raises
:class:`~sync2._errors.SourceUnavailable` without touching the network, so the pipeline records
the run as failed and moves on to the next source; the next run after the cool-down probes the
hospital again, and recovery needs no human.

Only failures that say "the server is not there or not well" count: every attempt that nobody
answered (connection refused or reset, timeout), and every call still answered 5xx/429 after the
transport's retries. A 404, a bad payload or a 401 is an answer from a live server: it closes the
breaker. A 401/403 also sets :attr:`CircuitBreaker.unauthorised`, which status shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from .._errors import SourceUnavailable

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Closed / open / half-open, per source; thread-safe; the clock is injectable for tests.

    >>> now = [0.0]
    >>> b = CircuitBreaker("h1", threshold=2, cooldown_seconds=10, clock=lambda: now[0])
    >>> b.record_failure("reset"); b.record_failure("reset"); b.state
    'open'
    >>> now[0] = 11.0; b.state
    'half-open'
    >>> b.check(); b.record_success(); b.state
    'closed'
    """

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        cooldown_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            msg = f"breaker {name}: threshold must be at least 1 (got {threshold})"
            raise ValueError(msg)
        self.name = name
        self.threshold = threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.last_error: str | None = None
        self.unauthorised: str | None = None  # the auth error message, until a call succeeds
        self.opened = 0  # times the breaker opened (for status and tests)
        self.refused = 0  # calls refused while open

    # -- state -----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_seconds:
            return "half-open"
        return "open"

    def retry_in(self) -> float:
        """Seconds until the breaker lets a probe through (0 when it is not open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown_seconds - self._clock())

    def snapshot(self) -> dict[str, Any]:
        """What status shows for this source (no secrets: errors are already redacted)."""
        with self._lock:
            return {
                "state": self._state(),
                "consecutive_failures": self._failures,
                "threshold": self.threshold,
                "cooldown_seconds": self.cooldown_seconds,
                "opened": self.opened,
                "refused": self.refused,
                "last_error": self.last_error,
                "unauthorised": self.unauthorised is not None,
            }

    # -- the calls the transport makes -----------------------------------------------------
    def check(self, where: str = "") -> None:
        """Let a call through, or refuse it.

        Half-open lets exactly one probe through at a time; the others are refused until the
        probe reports.

        Raises:
            SourceUnavailable: the breaker is open (or a half-open probe is in flight).
        """
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half-open" and not self._probing:
                self._probing = True
                return
            self.refused += 1
            wait = max(0.0, (self._opened_at or 0.0) + self.cooldown_seconds - self._clock())
        target = f" ({where})" if where else ""
        msg = (
            f"source {self.name} unavailable: circuit breaker open after {self.threshold} "
            f"consecutive failures, next try in {wait:.0f} s{target}; last error: {self.last_error}"
        )
        raise SourceUnavailable(msg, retry_after=wait)

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False
            self.unauthorised = None

    def record_failure(self, error: str) -> None:
        """One transient failure (after the transport's own retries of that attempt)."""
        with self._lock:
            self.last_error = error
            if self._probing or self._state() == "half-open":  # the probe failed: open again
                self._probing = False
                self._opened_at = self._clock()
                self.opened += 1
                return
            self._failures += 1
            if self._opened_at is None and self._failures >= self.threshold:
                self._opened_at = self._clock()
                self.opened += 1

    def record_unauthorised(self, error: str) -> None:
        """The server answered (so it is up) but refused our credentials or rights."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False
            self.unauthorised = error
            self.last_error = error
