"""What goes into and comes out of a passport store: plain dataclasses, no I/O.

Kept apart from the interface (``_protocols.py``) and the base class (``_base.py``) so that both,
and every backend, can name them without importing each other.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc

# Failed-event lifecycle: pending -> retrying -> done | dead.  ``blocked`` waits behind an
# earlier failure of the same entity (order per entity).
FAILED_PENDING = "pending"
FAILED_RETRYING = "retrying"
FAILED_DONE = "done"
FAILED_DEAD = "dead"
FAILED_BLOCKED = "blocked"
FAILED_OPEN_STATES = (FAILED_PENDING, FAILED_RETRYING, FAILED_BLOCKED)

#: The collections ``PassportStore.counts`` reports, in this order, on every backend.
COUNTED = (
    "patients",
    "patient_links",
    "medicalrecords",
    "doctors",
    "locations",
    "hospitals",
    "failed_events",
    "parked",
    "conflicts",
    "auditlogs",
)


def now_ts() -> float:
    return time.time()


@dataclass(slots=True)
class Cursor:
    """Where one stream of one source got to; committed with the data it covers."""

    source: str
    stream: str
    value: dict[str, Any]


@dataclass(slots=True)
class StatusChange:
    """A record that became invalid at its source (voided, deleted, superseded by an edit)."""

    source: str
    resource_type: str
    uuid: str
    status: str
    reason: str = ""
    superseded_by: str | None = None


@dataclass(slots=True)
class FailedEvent:
    """A change the engine could not bring in; kept with its error and position until it is."""

    source: str
    resource_type: str | None
    uuid: str | None
    error: str
    stream: str = ""
    action: str | None = None
    payload_ref: str | None = None  # URL or feed entry id, never patient data
    position: dict[str, Any] = field(default_factory=dict)
    payload: str | None = None  # the raw bad input (truncated), for a human to read
    attempts: int = 0
    state: str = FAILED_PENDING
    next_attempt_at: float | None = None
    id: int | None = None
    created_at: float = field(default_factory=now_ts)
    updated_at: float = field(default_factory=now_ts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ParkedRecord:
    """A record whose patient is not in the passport yet; attaches when that patient appears."""

    national_id: str
    record: RecordDoc


@dataclass(slots=True)
class Conflict:
    """Both the passport and the source changed one record since the last sync."""

    source: str
    resource_type: str
    uuid: str
    base: dict[str, Any] | None
    passport: dict[str, Any]
    incoming: dict[str, Any]
    reason: str = ""
    state: str = "open"
    resolution: str | None = None
    id: int | None = None
    created_at: float = field(default_factory=now_ts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class AuditEntry:
    """One line of the audit log: a run, a failure, a conflict, a manual action."""

    kind: str
    message: str
    source: str | None = None
    actor: str = "system"
    details: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=now_ts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class WriteBatch:
    """Everything one step of a sync writes; applied together with its cursor."""

    patients: list[PatientDoc] = field(default_factory=list)
    #: merged passport patient documents by patient id (the engine computes the merge)
    passport_patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[RecordDoc] = field(default_factory=list)
    doctors: list[DoctorDoc] = field(default_factory=list)
    locations: list[LocationDoc] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    failed: list[FailedEvent] = field(default_factory=list)
    parked: list[ParkedRecord] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    #: engine state that must move with these records (e.g. the catchment's "who is out")
    cursors: list[Cursor] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.patients)
            + len(self.records)
            + len(self.doctors)
            + len(self.locations)
            + len(self.status_changes)
            + len(self.failed)
            + len(self.parked)
            + len(self.conflicts)
        )


@dataclass(slots=True)
class ApplyResult:
    """What ``apply`` actually changed (version-guarded and unchanged writes are not counted)."""

    written: int = 0
    unchanged: int = 0
    stale: int = 0
    attached_from_parked: int = 0
