"""Fault injection knobs, in the spirit of dlt's dummy destination (``fail_prob`` & co).

Each rate is a per-request probability (0..1). At most one failing fault fires per request (the
first drawn, in field order); ``slow`` only delays and can combine with the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields

#: fault kinds in the order they are drawn
KINDS = (
    "error_500",
    "error_503",
    "error_429",
    "reset",
    "truncated",
    "invalid_xml",
    "wrong_content_type",
    "oversized",
    "redirect_loop",
)


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong, how often, and where.

    ``paths``: substrings of the request path the faults are limited to (empty = every path),
    e.g. ``("/ws/atomfeed/",)`` or ``("/Observation",)``. ``seed`` makes the draws repeatable.
    """

    error_500: float = 0.0
    error_503: float = 0.0  # with Retry-After
    error_429: float = 0.0  # with Retry-After
    retry_after: int = 1
    slow: float = 0.0
    delay: float = 0.5  # seconds, for slow
    reset: float = 0.0  # connection dropped mid-body
    truncated: float = 0.0  # 200 with half a JSON (or XML) body
    invalid_xml: float = 0.0  # feed pages only: 200 with broken XML
    wrong_content_type: float = 0.0  # 200 text/html login page
    oversized: float = 0.0  # 200 with a huge body
    oversized_bytes: int = 20_000_000
    redirect_loop: float = 0.0  # 302 to itself
    paths: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name in KINDS or f.name == "slow":
                rate = getattr(self, f.name)
                if not 0.0 <= rate <= 1.0:
                    msg = f"fault rate {f.name}={rate} is outside 0..1"
                    raise ValueError(msg)


class FaultPicker:
    """Seeded draws for one server and one FaultConfig."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)

    def draw(self, path: str, *, is_feed: bool) -> tuple[str | None, bool]:
        """(failing fault kind or None, whether to delay) for a request to ``path``."""
        c = self.config
        if c.paths and not any(p in path for p in c.paths):
            return None, False
        slow = c.slow > 0 and self._rng.random() < c.slow
        for kind in KINDS:
            rate = getattr(c, kind)
            if rate <= 0 or (kind == "invalid_xml" and not is_feed):
                continue
            if self._rng.random() < rate:
                return kind, slow
        return None, slow
