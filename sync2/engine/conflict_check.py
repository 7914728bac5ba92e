"""The conflict step of a sync: base vs passport vs incoming, for records and patients.

Run by the pipeline on every batch, before anything is written (``conflicts/`` decides; this
module reads the stored side and turns decisions into queue entries and audit lines).
"""

from __future__ import annotations

from typing import Any

from conflicts.demographics import reconcile_patient
from conflicts.records import (
    VISIBLE_FIELDS,
    check_record,
    first_sync_state,
    synced_record,
    visible_fields,
)
from conflicts.strategies import Decision
from mappers.documents import RecordDoc

from ..config import Config
from ..sources import Source
from ..store import AuditEntry, Conflict, PassportStore, WriteBatch
from .summary import SyncSummary


class ConflictCheck:
    """Decides, per incoming record and patient, whether to apply, keep, merge or queue."""

    def __init__(self, config: Config, store: PassportStore, priorities: dict[str, int]) -> None:
        self.config = config
        self.store = store
        self._priorities = priorities

    def check(self, source: Source, wb: WriteBatch, summary: SyncSummary) -> None:
        """Compare every incoming record and patient with what the passport holds.

        Side effects on ``wb`` only: records the passport keeps are swapped for the stored copy
        (so the store counts them unchanged), conflicts leave ``wb.records`` for
        ``wb.conflicts`` with an audit entry, strategy decisions are audited, and every record
        written carries its new base (``sync_state``). Echoes produce no audit at all.
        """
        queued = _OpenConflicts(self.store, source.id)
        stored_by_type: dict[str, dict[str, dict[str, Any]]] = {}
        for rtype in {r.resource_type for r in wb.records}:
            uuids = [r.uuid for r in wb.records if r.resource_type == rtype]
            stored_by_type[rtype] = self.store.get_records(source.id, rtype, uuids)
        kept: list[RecordDoc] = []
        for rec in wb.records:
            stored = stored_by_type.get(rec.resource_type, {}).get(rec.uuid)
            if stored is None:  # new to the passport (every record of a backfill): no conflict
                rec.sync_state = first_sync_state(rec)
                kept.append(rec)
                continue
            doc = self._check_record(source.id, rec, stored, wb, summary, queued)
            if doc is not None:
                kept.append(doc)
        wb.records[:] = kept
        self._check_patient_conflicts(source, wb, summary, queued)

    def _check_record(
        self,
        source_id: str,
        rec: RecordDoc,
        stored: dict[str, Any],
        wb: WriteBatch,
        summary: SyncSummary,
        queued: _OpenConflicts,
    ) -> RecordDoc | None:
        """What to write for one record the passport holds already (None: queued instead)."""
        settings = self.config.conflicts
        incoming = rec.to_dict()
        decision = check_record(
            stored,
            incoming,
            strategy=settings.strategy_for(rec.resource_type),
            fallback=settings.merge_fallback,
        )
        ref = f"{rec.resource_type}/{rec.uuid}"
        if decision.action == "echo":
            return rec  # identical hash: the store's guard skips it, counted unchanged
        if decision.action == "keep":
            return _stored_copy(stored, rec)
        if decision.action == "conflict":
            summary.conflicts += 1
            if not queued.has(rec.resource_type, rec.uuid, incoming):
                wb.conflicts.append(
                    Conflict(
                        source=source_id,
                        resource_type=rec.resource_type,
                        uuid=rec.uuid,
                        base=(stored.get("sync_state") or {}).get("base_fields"),
                        passport=visible_fields(stored),
                        incoming=incoming,
                        reason=decision.reason,
                    )
                )
                wb.audit.append(_conflict_audit(source_id, ref, decision.reason, decision.strategy))
            return None
        fields = decision.fields if decision.fields is not None else incoming
        doc = synced_record(incoming, fields, stored)
        for name in VISIBLE_FIELDS:
            setattr(rec, name, doc[name])
        rec.sync_state = doc["sync_state"]
        if decision.action == "resolved":
            wb.audit.append(_resolved_audit(source_id, ref, decision))
        return rec

    def _check_patient_conflicts(
        self,
        source: Source,
        wb: WriteBatch,
        summary: SyncSummary,
        queued: _OpenConflicts,
    ) -> None:
        """The shown demographics by policy, then base / passport / incoming against edits."""
        settings = self.config.conflicts
        for patient_id, merged in list(wb.passport_patients.items()):
            stored = self.store.get_patient(patient_id)
            outcome = reconcile_patient(
                stored,
                merged,
                priorities=self._priorities,
                policy=settings.demographics,
                strategy=settings.strategy_for("Patient"),
                fallback=settings.merge_fallback,
            )
            wb.passport_patients[patient_id] = outcome.doc
            decision = outcome.decision
            ref = f"passport patient of {source.id}"  # the id is a national ID: not in audit
            if decision.action == "conflict":
                summary.conflicts += 1
                if queued.has("Patient", patient_id, outcome.incoming):
                    continue
                wb.conflicts.append(
                    Conflict(
                        source=str(outcome.doc.get("demographics_from") or source.id),
                        resource_type="Patient",
                        uuid=patient_id,
                        base=outcome.base,
                        passport=outcome.passport,
                        incoming=outcome.incoming,
                        reason=decision.reason,
                    )
                )
                wb.audit.append(_conflict_audit(source.id, ref, decision.reason, decision.strategy))
            elif decision.action == "resolved":
                wb.audit.append(_resolved_audit(source.id, ref, decision))


class _OpenConflicts:
    """The open conflicts of one source, read once a batch and only when a conflict comes up
    (most batches have none)."""

    def __init__(self, store: PassportStore, source_id: str) -> None:
        self._store = store
        self._source_id = source_id
        self._by_key: dict[tuple[str, str], list[Conflict]] | None = None

    def has(self, rtype: str, uuid: str, incoming: dict[str, Any]) -> bool:
        """A conflict already queued for this exact incoming change."""
        if self._by_key is None:
            self._by_key = {}
            for c in self._store.list_conflicts(state="open"):
                if c.source == self._source_id:
                    self._by_key.setdefault((c.resource_type, c.uuid), []).append(c)
        return any(
            _same_incoming(c.incoming, incoming) for c in self._by_key.get((rtype, uuid), [])
        )


def _same_incoming(queued: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """A conflict already queued for this exact incoming change (a replay must not re-queue)."""
    if "content_hash" in incoming:
        return bool(queued.get("content_hash") == incoming.get("content_hash"))
    return queued == incoming


def _stored_copy(stored: dict[str, Any] | None, rec: RecordDoc) -> RecordDoc:
    """The stored record as a RecordDoc: written back, the store sees no change."""
    if stored is None:
        return rec
    names = RecordDoc.__dataclass_fields__
    return RecordDoc(**{k: v for k, v in stored.items() if k in names})


def _conflict_audit(source_id: str, ref: str, reason: str, strategy: str | None) -> AuditEntry:
    return AuditEntry(
        kind="conflict",
        source=source_id,
        message=f"{ref}: {reason}; queued for a decision",
        details={"strategy": strategy},
    )


def _resolved_audit(source_id: str, ref: str, decision: Decision) -> AuditEntry:
    """A strategy settled an overlap by itself: said in the audit, nothing queued."""
    return AuditEntry(
        kind="conflict-resolved",
        source=source_id,
        message=f"{ref}: {decision.reason}",
        details={"strategy": decision.strategy, "fields": list(decision.overlapping)},
    )
