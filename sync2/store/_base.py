"""The passport store interface: one write method, a handful of reads.

The one write that matters is :meth:`PassportStore.apply`: it writes a :class:`WriteBatch` and the
source cursor that batch covers in one transaction (or, where there is no transaction, the
idempotent upserts first and the cursor last). Everything the engine needs from a store is on this
class, so a new backend is one sibling module plus a run of ``tests/store/test_contract.py``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc

from ._changes import ChangeScan

# Failed-event lifecycle: pending -> retrying -> done | dead.  ``blocked`` waits behind an
# earlier failure of the same entity (order per entity).
FAILED_PENDING = "pending"
FAILED_RETRYING = "retrying"
FAILED_DONE = "done"
FAILED_DEAD = "dead"
FAILED_BLOCKED = "blocked"
FAILED_OPEN_STATES = (FAILED_PENDING, FAILED_RETRYING, FAILED_BLOCKED)


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


class PassportStore(ABC):
    """The passport: patients, their records, and the engine's own bookkeeping."""

    # -- the write -------------------------------------------------------------------------
    @abstractmethod
    def apply(self, batch: WriteBatch, cursor: Cursor | None = None) -> ApplyResult:
        """Write ``batch`` and ``cursor`` atomically (or upserts first, cursor last).

        Records are upserts keyed by (source, resource type, uuid) and guarded by the source
        version: an older version never overwrites a newer one, and an identical content hash
        is not rewritten. A patient whose national ID has parked records gets them attached in
        the same write.
        """

    # -- cursors ---------------------------------------------------------------------------
    @abstractmethod
    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def get_cursors(self, source: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def set_cursor(self, cursor: Cursor) -> None:
        """Overwrite a cursor outside a batch (admin reset, lost-marker recovery)."""

    # -- patients and records --------------------------------------------------------------
    @abstractmethod
    def get_patient(self, patient_id: str) -> dict[str, Any] | None:
        """The passport patient (``patient_id`` is the normalised national ID)."""

    @abstractmethod
    def patient_links(self, source: str, uuids: Iterable[str]) -> dict[str, str]:
        """Map source patient uuids to passport patient ids, for those already linked."""

    @abstractmethod
    def get_patient_link_docs(self, patient_id: str) -> list[dict[str, Any]]:
        """Every hospital's own version of one passport patient (as mapped from its source)."""

    # Patient-link review (issue 3). Not abstract, so a store written before it still loads.
    def get_patient_link(self, source: str, uuid: str) -> dict[str, Any] | None:
        """One hospital patient's link document: its mapped version with ``patient_id`` (None
        while unlinked, e.g. held for review), or None when the passport never saw it."""
        msg = f"{type(self).__name__} does not support patient-link reads"
        raise NotImplementedError(msg)

    def find_patients(self, **equals: Any) -> list[dict[str, Any]]:
        """Passport patients whose top-level fields equal the given values, without ``links``.

        Read-only; the demographic fallback asks by ``birth_date`` and ``gender`` and compares
        names itself (normalised), so that nothing is ever linked on a name by a query.
        """
        msg = f"{type(self).__name__} does not support patient searches"
        raise NotImplementedError(msg)

    @abstractmethod
    def get_records(
        self, source: str, resource_type: str, uuids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """Stored records by uuid (only those that exist)."""

    @abstractmethod
    def records_for_patient(
        self, patient_id: str, *, include_invalid: bool = True
    ) -> list[dict[str, Any]]:
        """Every record of one passport patient, newest first."""

    @abstractmethod
    def find_records(self, source: str, resource_type: str, **equals: Any) -> list[dict[str, Any]]:
        """Records of one source and type whose top-level fields equal the given values."""

    @abstractmethod
    def count_records(self, source: str, resource_type: str, *, valid_only: bool = False) -> int:
        """How many records of one source and type (``valid_only``: not voided/superseded)."""

    @abstractmethod
    def list_record_uuids(
        self,
        source: str,
        resource_type: str,
        *,
        after: str = "",
        limit: int = 1000,
        valid_only: bool = True,
    ) -> list[str]:
        """Record uuids in uuid order after ``after`` (keyset paging, for re-checking voids)."""

    @abstractmethod
    def update_record(
        self, source: str, resource_type: str, uuid: str, changes: dict[str, Any]
    ) -> bool:
        """Change fields of a stored record outside a sync (passport edits, resolutions)."""

    @abstractmethod
    def get_doctors(self, source: str, uuids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def get_locations(self, source: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def upsert_hospital(self, source: str, doc: dict[str, Any]) -> None: ...

    @abstractmethod
    def list_hospitals(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def register_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        """Create a passport patient directly (as the portal does); parked records attach."""

    # -- change order (the FHIR face and the parent feed) ------------------------------------
    # Not abstract, so a store written before the FHIR face still loads.
    def scan_records(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Records in change order ``(changed_at, source, resource_type, uuid)``, each with its
        ``changed_at`` (epoch seconds of the passport's last write); see ``_changes.py``."""
        msg = f"{type(self).__name__} does not support change scans"
        raise NotImplementedError(msg)

    def count_records_scanned(self, scan: ChangeScan) -> int:
        """How many records :meth:`scan_records` would return with no limit."""
        msg = f"{type(self).__name__} does not support change scans"
        raise NotImplementedError(msg)

    def scan_patient_links(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Linked hospital patients in change order ``(changed_at, source, uuid)``, each with
        its ``changed_at``; ``resource_types`` and ``exclude_statuses`` do not apply."""
        msg = f"{type(self).__name__} does not support change scans"
        raise NotImplementedError(msg)

    def count_patient_links_scanned(self, scan: ChangeScan) -> int:
        msg = f"{type(self).__name__} does not support change scans"
        raise NotImplementedError(msg)

    def list_doctors(self) -> list[dict[str, Any]]:
        """Every doctor of every source (small: one per provider), in (source, uuid) order."""
        msg = f"{type(self).__name__} does not support listing doctors"
        raise NotImplementedError(msg)

    def list_locations(self) -> list[dict[str, Any]]:
        """Every location of every source, in (source, uuid) order."""
        msg = f"{type(self).__name__} does not support listing locations"
        raise NotImplementedError(msg)

    # -- failed events ---------------------------------------------------------------------
    @abstractmethod
    def list_failed(
        self, *, states: Iterable[str] | None = None, source: str | None = None, limit: int = 1000
    ) -> list[FailedEvent]: ...

    @abstractmethod
    def get_failed(self, failed_id: int) -> FailedEvent | None: ...

    @abstractmethod
    def update_failed(self, event: FailedEvent) -> None:
        """Save a failed event's new state, attempts, error and next attempt time."""

    @abstractmethod
    def open_failed_keys(self, source: str) -> set[tuple[str, str]]:
        """(resource type, uuid) of every entity with an open failed event (order per entity)."""

    # -- parked ----------------------------------------------------------------------------
    @abstractmethod
    def list_parked(self, limit: int = 1000) -> list[ParkedRecord]: ...

    # -- conflicts -------------------------------------------------------------------------
    @abstractmethod
    def list_conflicts(self, *, state: str | None = "open") -> list[Conflict]: ...

    @abstractmethod
    def get_conflict(self, conflict_id: int) -> Conflict | None: ...

    @abstractmethod
    def close_conflict(self, conflict_id: int, resolution: str) -> None: ...

    # -- audit -----------------------------------------------------------------------------
    @abstractmethod
    def add_audit(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    def list_audit(
        self, *, limit: int = 100, kind: str | None = None, source: str | None = None
    ) -> list[AuditEntry]: ...

    @abstractmethod
    def prune_audit(self, older_than: float) -> int: ...

    # -- leases ----------------------------------------------------------------------------
    # Several workers on one passport share the sources: a worker syncs a source only while it
    # holds that source's lease. Not abstract, so stores written before leases still load.
    def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take lease ``name`` for ``ttl_seconds`` if it is free, expired or already ``owner``'s.

        Returns:
            True when ``owner`` now holds the lease, False when another live owner does.
        """
        msg = f"{type(self).__name__} does not support leases"
        raise NotImplementedError(msg)

    def renew_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend a lease ``owner`` still holds; False when it expired or someone else has it."""
        msg = f"{type(self).__name__} does not support leases"
        raise NotImplementedError(msg)

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up now (only if ``owner`` holds it), so another worker need not wait."""
        msg = f"{type(self).__name__} does not support leases"
        raise NotImplementedError(msg)

    # -- status ----------------------------------------------------------------------------
    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Rows per collection, for ``status`` and metrics."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> PassportStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
