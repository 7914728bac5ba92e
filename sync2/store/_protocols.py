"""The passport store's interface, split by concern: each protocol is one job a store does.

Code that needs one concern can ask for that protocol alone (the lease keeper needs
:class:`Leases`, the FHIR face :class:`ChangeReads`); :class:`~sync2.store.PassportStore` is all
of them plus the one write path. :class:`BatchWriter` is what a backend supplies for that write:
one writer per unit of work, called by the base in a fixed order.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc

from ._changes import ChangeScan
from ._types import (
    ApplyResult,
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    StatusChange,
)


class Cursors(Protocol):
    """Where each stream of each source got to."""

    @abstractmethod
    def get_cursor(self, source: str, stream: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def get_cursors(self, source: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def set_cursor(self, cursor: Cursor) -> None:
        """Overwrite a cursor outside a batch (admin reset, lost-marker recovery)."""


class PatientsAndLinks(Protocol):
    """Passport patients and the hospital patients linked to them."""

    @abstractmethod
    def get_patient(self, patient_id: str) -> dict[str, Any] | None:
        """The passport patient (``patient_id`` is the normalised national ID)."""

    @abstractmethod
    def patient_links(self, source: str, uuids: Iterable[str]) -> dict[str, str]:
        """Map source patient uuids to passport patient ids, for those already linked."""

    @abstractmethod
    def get_patient_link_docs(self, patient_id: str) -> list[dict[str, Any]]:
        """Every hospital's own version of one passport patient (as mapped from its source)."""

    @abstractmethod
    def get_patient_link(self, source: str, uuid: str) -> dict[str, Any] | None:
        """One hospital patient's link document: its mapped version with ``patient_id`` (None
        while unlinked, e.g. held for review), or None when the passport never saw it."""

    @abstractmethod
    def find_patients(self, **equals: Any) -> list[dict[str, Any]]:
        """Passport patients whose top-level fields equal the given values, without ``links``.

        Read-only; the demographic fallback asks by ``birth_date`` and ``gender`` and compares
        names itself (normalised), so that nothing is ever linked on a name by a query.
        """

    @abstractmethod
    def register_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        """Create a passport patient directly (as the portal does); parked records attach."""


class Records(Protocol):
    """Medical records, read and edited outside a sync."""

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


class Reference(Protocol):
    """Doctors, locations and hospitals: the small tables records point at."""

    @abstractmethod
    def get_doctors(self, source: str, uuids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def get_locations(self, source: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def upsert_hospital(self, source: str, doc: dict[str, Any]) -> None: ...

    @abstractmethod
    def list_hospitals(self) -> list[dict[str, Any]]: ...


class ChangeReads(Protocol):
    """Reads in change order, for the FHIR face and the parent feed."""

    @abstractmethod
    def scan_records(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Records in change order ``(changed_at, source, resource_type, uuid)``, each with its
        ``changed_at`` (epoch seconds of the passport's last write); see ``_changes.py``."""

    @abstractmethod
    def count_records_scanned(self, scan: ChangeScan) -> int:
        """How many records :meth:`scan_records` would return with no limit."""

    @abstractmethod
    def scan_patient_links(
        self, scan: ChangeScan, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Linked hospital patients in change order ``(changed_at, source, uuid)``, each with
        its ``changed_at``; ``resource_types`` and ``exclude_statuses`` do not apply."""

    @abstractmethod
    def count_patient_links_scanned(self, scan: ChangeScan) -> int: ...

    @abstractmethod
    def list_doctors(self) -> list[dict[str, Any]]:
        """Every doctor of every source (small: one per provider), in (source, uuid) order."""

    @abstractmethod
    def list_locations(self) -> list[dict[str, Any]]:
        """Every location of every source, in (source, uuid) order."""


class Queues(Protocol):
    """Failed events, parked records and conflicts: work waiting for someone."""

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

    @abstractmethod
    def list_parked(self, limit: int = 1000) -> list[ParkedRecord]: ...

    @abstractmethod
    def parked_per_source(self) -> dict[str, int]:
        """How many records are parked for each source: counted by the store, so a page that
        shows the figure every few seconds reads no parked documents."""

    @abstractmethod
    def list_conflicts(self, *, state: str | None = "open") -> list[Conflict]: ...

    @abstractmethod
    def get_conflict(self, conflict_id: int) -> Conflict | None: ...

    @abstractmethod
    def close_conflict(self, conflict_id: int, resolution: str) -> None: ...


class Audit(Protocol):
    """The audit log."""

    @abstractmethod
    def add_audit(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    def list_audit(
        self, *, limit: int = 100, kind: str | None = None, source: str | None = None
    ) -> list[AuditEntry]: ...

    @abstractmethod
    def prune_audit(self, older_than: float) -> int: ...


class Leases(Protocol):
    """Sources shared by several workers: a worker syncs a source only while it holds its lease."""

    @abstractmethod
    def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take lease ``name`` for ``ttl_seconds`` if it is free, expired or already ``owner``'s.

        Returns:
            True when ``owner`` now holds the lease, False when another live owner does.
        """

    @abstractmethod
    def renew_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend a lease ``owner`` still holds; False when it expired or someone else has it."""

    @abstractmethod
    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up now (only if ``owner`` holds it), so another worker need not wait."""


class BatchWriter(Protocol):
    """A backend's writers inside one unit of work (a transaction, or ordered upserts).

    The base's ``apply`` calls them in one order; each must be idempotent where the backend has
    no transaction, so a replayed batch changes nothing.
    """

    def patient_links(self, docs: Sequence[PatientDoc]) -> None: ...

    def passport_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        """Merge ``doc`` into the passport patient: fields the portal owns stay as they were."""

    def records(self, records: Sequence[RecordDoc], result: ApplyResult) -> None:
        """Version-guarded upserts; counts written, unchanged and stale into ``result``."""

    def reference(self, collection: str, docs: Sequence[DoctorDoc | LocationDoc]) -> None: ...

    def status(self, change: StatusChange) -> None:
        """Mark a stored (or parked) record invalid, following ``_rules.status_is_kept``."""

    def parked(self, parked: Sequence[ParkedRecord]) -> None: ...

    def failed(self, events: Sequence[FailedEvent]) -> None: ...

    def conflicts(self, conflicts: Sequence[Conflict]) -> None: ...

    def audit(self, entries: Sequence[AuditEntry]) -> None: ...

    def attach_parked(self, patient_ids: set[str]) -> int:
        """Attach the records parked for these patients; returns how many attached."""

    def cursor(self, cursor: Cursor) -> None: ...
