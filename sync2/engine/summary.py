"""What one pass over one source did (the table at the end of ``sync2 sync``, the audit line
of a run, the admin API's status)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class SyncSummary:
    """What one pass over one source did; printed as the table at the end of ``sync2 sync``."""

    source: str
    ok: bool = True
    batches: int = 0
    resources: int = 0
    written: int = 0
    unchanged: int = 0
    invalidated: int = 0
    failed: int = 0
    parked: int = 0
    skipped: int = 0
    conflicts: int = 0
    # -- catchment: changes of patients outside it, not stored; patients that
    # entered (history pulled) or left it
    out_of_catchment: int = 0
    entered: int = 0
    left: int = 0
    seconds: float = 0.0
    error: str | None = None
    #: the source refused our credentials or rights (401/403): a human must fix the config
    unauthorised: bool = False
    #: the stream and cursor of the last window stored: a running sync's feed position, read
    #: live by the service's status; not part of the run's record (see :meth:`to_dict`)
    position: tuple[str, dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def add(self, other: SyncSummary) -> None:
        for name in (
            "batches",
            "resources",
            "written",
            "unchanged",
            "invalidated",
            "failed",
            "parked",
            "skipped",
            "conflicts",
            "out_of_catchment",
            "entered",
            "left",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready: the one shape the CLI, the admin API and the audit log share
        (the live ``position`` is left out: a run's record keeps no cursor)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "position"}
