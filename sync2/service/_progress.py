"""A run's progress while it goes: what it has stored so far and the feed position it reached.

The scheduler publishes one after each window the engine stores (from the run's summary, no
I/O); ``GET status`` and the console's overview read it from the source's live state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..admin.status import iso_time, stream_mark
from ..pipeline import SyncSummary


@dataclass(frozen=True, slots=True)
class RunProgress:
    """What a run in progress has stored so far; replaced whole after each stored window, so
    a reader in another thread always sees one window's figures together."""

    started: float
    updated: float
    windows: int = 0
    resources: int = 0
    written: int = 0
    failed: int = 0
    parked: int = 0
    #: the stream and cursor of the last window stored (the feed position reached)
    position: tuple[str, dict[str, Any]] | None = None

    @classmethod
    def of(cls, summary: SyncSummary, started: float, now: float) -> RunProgress:
        return cls(
            started=started,
            updated=now,
            windows=summary.batches,
            resources=summary.resources,
            written=summary.written,
            failed=summary.failed,
            parked=summary.parked,
            position=summary.position,
        )

    def to_dict(self, now: float) -> dict[str, Any]:
        """The API's ``progress`` of a source: counts so far and the position reached."""
        mark = stream_mark(*self.position) if self.position is not None else None
        return {
            "started_at": iso_time(self.started),
            "seconds": round(max(0.0, now - self.started), 3),
            "updated_at": iso_time(self.updated),
            "windows": self.windows,
            "resources": self.resources,
            "written": self.written,
            "failed": self.failed,
            "parked": self.parked,
            "position": mark.to_dict() if mark is not None else None,
        }
