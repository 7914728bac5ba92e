"""The passport store: one write path over a backend's writers, and the reads by concern.

The one write that matters is :meth:`PassportStore.apply`: it writes a :class:`WriteBatch` and the
source cursor that batch covers in one unit of work: a transaction, or, where there is none, the
idempotent upserts first and the cursor last. ``apply`` is written here once, in one order; a
backend supplies only its unit of work and the :class:`~._protocols.BatchWriter` inside it, plus
the reads of ``_protocols.py``. A new backend is one package plus a run of
``tests/store/test_contract.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any, final

from ._protocols import (
    Audit,
    BatchWriter,
    ChangeReads,
    Cursors,
    Leases,
    PatientsAndLinks,
    Queues,
    Records,
    Reference,
)
from ._types import (
    FAILED_BLOCKED,
    FAILED_DEAD,
    FAILED_DONE,
    FAILED_OPEN_STATES,
    FAILED_PENDING,
    FAILED_RETRYING,
    ApplyResult,
    AuditEntry,
    Conflict,
    Cursor,
    FailedEvent,
    ParkedRecord,
    StatusChange,
    WriteBatch,
    now_ts,
)

__all__ = [
    "FAILED_BLOCKED",
    "FAILED_DEAD",
    "FAILED_DONE",
    "FAILED_OPEN_STATES",
    "FAILED_PENDING",
    "FAILED_RETRYING",
    "ApplyResult",
    "AuditEntry",
    "Conflict",
    "Cursor",
    "FailedEvent",
    "ParkedRecord",
    "PassportStore",
    "StatusChange",
    "WriteBatch",
    "now_ts",
]


class PassportStore(
    Cursors, PatientsAndLinks, Records, Reference, ChangeReads, Queues, Audit, Leases, ABC
):
    """The passport: patients, their records, and the engine's own bookkeeping."""

    # -- the backend's part of the write ----------------------------------------------------
    @abstractmethod
    def _unit_of_work(self, what: str) -> AbstractContextManager[BatchWriter]:
        """A writer whose writes land together (transaction) or in call order (upserts).

        ``what`` names the write in the error a failure raises.
        """

    # -- the write -------------------------------------------------------------------------
    @final
    def apply(self, batch: WriteBatch, cursor: Cursor | None = None) -> ApplyResult:
        """Write ``batch`` and ``cursor`` atomically (or upserts first, cursor last).

        Records are upserts keyed by (source, resource type, uuid) and guarded by the source
        version: an older version never overwrites a newer one, and an identical content hash
        is not rewritten. A patient whose national ID has parked records gets them attached in
        the same write. The cursors go last, so a store without transactions that stops half
        way replays the batch instead of skipping it.
        """
        result = ApplyResult()
        with self._unit_of_work("apply") as write:
            if batch.patients:
                write.patient_links(batch.patients)
            for patient_id, passport in batch.passport_patients.items():
                write.passport_patient(patient_id, passport)
            if batch.records:
                write.records(batch.records, result)
            if batch.doctors:
                write.reference("doctors", batch.doctors)
            if batch.locations:
                write.reference("locations", batch.locations)
            for change in batch.status_changes:
                write.status(change)
            _write_queues(write, batch)
            if batch.patients:
                patient_ids = {p.patient_id for p in batch.patients if p.patient_id}
                result.attached_from_parked = write.attach_parked(patient_ids)
            for extra in batch.cursors:
                self._write_cursor(write, extra)
            if cursor is not None:
                self._write_cursor(write, cursor)
        return result

    def _write_cursor(self, write: BatchWriter, cursor: Cursor) -> None:
        """The last step of ``apply``; a method of its own so the contract suite can cut the
        power just before it and check that the cursor is never ahead of the data."""
        write.cursor(cursor)

    # -- writes outside a batch, through the same writers ---------------------------------
    def set_cursor(self, cursor: Cursor) -> None:
        """Overwrite a cursor outside a batch (admin reset, lost-marker recovery)."""
        with self._unit_of_work("cursor write") as write:
            write.cursor(cursor)

    def register_patient(self, patient_id: str, doc: dict[str, Any]) -> None:
        """Create a passport patient directly (as the portal does); parked records attach."""
        with self._unit_of_work("patient registration") as write:
            write.passport_patient(patient_id, {"patient_id": patient_id, **doc})
            write.attach_parked({patient_id})

    def add_audit(self, entry: AuditEntry) -> None:
        with self._unit_of_work("audit write") as write:
            write.audit([entry])

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


def _write_queues(write: BatchWriter, batch: WriteBatch) -> None:
    """Parked records, failed events, conflicts and audit lines: each only when there are any
    (most batches carry none, and ``apply`` is on the hot path)."""
    if batch.parked:
        write.parked(batch.parked)
    if batch.failed:
        write.failed(batch.failed)
    if batch.conflicts:
        write.conflicts(batch.conflicts)
    if batch.audit:
        write.audit(batch.audit)
