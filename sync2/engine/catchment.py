"""The engine side of catchment: gather the facts, ask ``catchment/``, act on the answer.

Per source, a :class:`_Gate` holds the rule and the patients last decided *out* (kept in the
store's ``syncstatus`` under the stream ``catchment``, with their national ID and the answers of
the passport/config-driven strategies). From that:

- a feed entry whose Sync 2.0 filter tag says "another area" is skipped before any fetch
  (:func:`tag_filter_for`; the source counts it);
- records of patients decided out are fetched only as far as the decision needs, never stored,
  and counted (``SyncSummary.out_of_catchment``, one audit entry per batch);
- a patient that turns *in* (address change, newly registered, cohort edited) has its whole
  history pulled from every hospital where its national ID is known, at once; one that turns
  *out* is kept or, with ``on_leave = "remove"``, its records of that hospital are marked
  entered-in-error (audited) and restored if it comes back.

Write order: new "out" entries are saved before the batch is applied; "in" transitions are
saved only after the history pull is stored. A crash in between pulls again (idempotent)
rather than losing records. A patient never stored and never decided out counts as entering
too (its earlier records may have been skipped by tag), except during a snapshot, which brings
every record anyway.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from catchment import (
    NEEDS_ENCOUNTERS,
    NEEDS_LOCATIONS,
    NEEDS_REGISTERED,
    Decision,
    PatientFacts,
    Rule,
    Verdict,
    rule_from_dict,
)
from mappers import map_patients
from mappers.documents import (
    INVALID_STATUSES,
    RECORD_RESOURCE_TYPES,
    STATUS_ENTERED_IN_ERROR,
    PatientDoc,
    RecordDoc,
)

from .._errors import Sync2Error, TransientSourceError
from ..config import Config, SourceConfig
from ..sources import Source, SourceBatch
from ..store import AuditEntry, Cursor, PassportStore, StatusChange, WriteBatch
from .mapping import context_for
from .patient_links import patients_with_national_id
from .ports import ApplyResources, SourceFor
from .summary import SyncSummary

if TYPE_CHECKING:
    from ..sources.atomfeed import FeedFilterTag

log = logging.getLogger(__name__)

STATE_STREAM = "catchment"
REMOVED_REASON = "patient left the catchment (on_leave = remove)"
_RECORD_TYPES = RECORD_RESOURCE_TYPES


def rule_config_for(config: Config, source_config: SourceConfig) -> Any:
    """The catchment rule model that applies to a source (its own, else the default)."""
    return source_config.catchment if source_config.catchment is not None else config.catchment


def rule_for(config: Config, source_config: SourceConfig) -> Rule | None:
    """The pure rule of a source; None when every patient is in (nothing to do)."""
    model = rule_config_for(config, source_config)
    if model is None:
        return None
    spec = model.model_dump()
    if spec.get("strategy") == "all" and not spec.get("rules"):
        return None
    return rule_from_dict(spec)


def tag_filter_for(
    config: Config, source_config: SourceConfig
) -> Callable[[list[FeedFilterTag]], bool] | None:
    """What the feed source asks before fetching an entry: False only for a foreign tag."""
    rule = rule_for(config, source_config)
    if rule is None:
        return None

    def _keep(tags: list[FeedFilterTag]) -> bool:
        return rule.tag_verdict(tags) is not Verdict.OUT

    return _keep


@dataclass(slots=True)
class _Entering:
    """A patient who came into the catchment and whose history is still to be pulled; kept in
    the saved state until the pull is stored, so a failed or interrupted pull is retried."""

    uuid: str
    national_id: str | None
    raw_ids: list[str]
    removed: list[Any] = field(default_factory=list)  # records to make valid again

    def to_dict(self) -> dict[str, Any]:
        return {"nid": self.national_id, "raw": self.raw_ids, "removed": self.removed}


@dataclass(slots=True)
class _Gate:
    source_id: str
    rule: Rule
    on_leave: str
    out: dict[str, dict[str, Any]] = field(default_factory=dict)
    entering: dict[str, _Entering] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def uuids_with_national_id(self, national_id: str) -> list[str]:
        with self.lock:
            return [u for u, e in self.out.items() if e.get("nid") == national_id]


class CatchmentEngine:
    """Catchment decisions for one pipeline.

    ``apply`` brings in a pulled history and ``source_for`` reaches the other hospitals: both
    are the pipeline's, handed in, so this stage never imports it.
    """

    def __init__(
        self,
        config: Config,
        store: PassportStore,
        apply: ApplyResources,
        source_for: SourceFor,
    ) -> None:
        self.config = config
        self.store = store
        self._apply = apply
        self._source_for = source_for
        self._gates: dict[str, _Gate | None] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- state -----------------------------------------------------------------------------
    def gate(self, source_id: str) -> _Gate | None:
        with self._lock:
            if source_id not in self._gates:
                sc = self.config.source(source_id)
                rule = rule_for(self.config, sc)
                gate = None
                if rule is not None:
                    model = rule_config_for(self.config, sc)
                    gate = _Gate(source_id, rule, model.on_leave or "keep")
                    saved = self.store.get_cursor(source_id, STATE_STREAM) or {}
                    gate.out = dict(saved.get("out") or {})
                    gate.entering = {
                        uuid: _Entering(
                            uuid,
                            e.get("nid"),
                            list(e.get("raw") or []),
                            list(e.get("removed") or []),
                        )
                        for uuid, e in (saved.get("entering") or {}).items()
                    }
                self._gates[source_id] = gate
            return self._gates[source_id]

    def forget(self, source_id: str) -> None:
        """Drop the in-memory state of a source after a failed run: what was decided for a
        batch that was not stored must not count; the next run reloads the saved state."""
        with self._lock:
            self._gates.pop(source_id, None)

    def _state_cursor(self, gate: _Gate) -> Cursor:
        with gate.lock:
            value = {
                "out": dict(gate.out),
                "entering": {u: e.to_dict() for u, e in gate.entering.items()},
            }
        return Cursor(gate.source_id, STATE_STREAM, value)

    def _save(self, gate: _Gate) -> None:
        self.store.set_cursor(self._state_cursor(gate))

    # -- one batch -------------------------------------------------------------------------
    def screen(
        self,
        source: Source,
        sb: SourceBatch,
        patients: list[PatientDoc],
        records: list[RecordDoc],
        wb: WriteBatch,
        summary: SyncSummary,
    ) -> None:
        """Drop patients and records outside the catchment from this batch (counted, audited).

        Side effects: may fetch the patients of records (batched) and saves new "out" entries.
        """
        gate = self.gate(source.id)
        if gate is None:
            return
        by_uuid = {p.uuid: p for p in patients}
        record_patients = {r.patient_uuid for r in records if r.patient_uuid} - set(by_uuid)
        with gate.lock:
            known_out = {u for u in record_patients if u in gate.out}
        linked = self.store.patient_links(source.id, set(by_uuid) | record_patients)
        missing = record_patients - known_out - set(linked)
        if missing:
            for doc in self._fetch_patients(source, missing):
                patients.append(doc)
                by_uuid[doc.uuid] = doc
        facts = self._facts(gate.rule, source.id, list(by_uuid.values()), records, wb)
        snapshot = sb.cursor.get("phase") == "snapshot"
        reasons: Counter[str] = Counter()
        out_uuids = set(known_out)
        changed = False
        for uuid, doc in by_uuid.items():
            reason, saved = self._decide(
                gate, doc, facts[uuid], linked=uuid in linked, snapshot=snapshot, wb=wb
            )
            if saved == "left":
                summary.left += 1
            if reason is not None:
                out_uuids.add(uuid)
                reasons[reason] += 1
            changed = changed or saved is not None
        if changed:
            wb.cursors.append(self._state_cursor(gate))  # saved with this batch, not before
        if not out_uuids:
            return
        if known_out:
            reasons["decided earlier"] += len(known_out)
        count = len(by_uuid.keys() & out_uuids)
        self._drop(source.id, patients, records, out_uuids, count, reasons, wb, summary)

    def _decide(
        self,
        gate: _Gate,
        doc: PatientDoc,
        facts: PatientFacts,
        *,
        linked: bool,
        snapshot: bool,
        wb: WriteBatch,
    ) -> tuple[str | None, str | None]:
        """Decide one patient of a batch and update the gate's state.

        Returns why the patient is out (None: in), and how the saved state changed: None
        (unchanged), "out", "left" (a stored patient turned out) or "entering".
        """
        decision: Decision = gate.rule.decide(facts)
        standing = gate.rule.standing(doc.national_id, facts.registered)
        uuid = doc.uuid
        with gate.lock:
            was_out = uuid in gate.out
            if not decision.inside:
                gate.entering.pop(uuid, None)
                entry = gate.out.get(uuid) or {}
                left = not was_out and linked
                if left:
                    entry.update(self._leave(gate, gate.source_id, uuid, wb))
                new = {**entry, "nid": doc.national_id, "standing": standing}
                if new == gate.out.get(uuid):
                    return decision.reason, None
                gate.out[uuid] = new
                return decision.reason, "left" if left else "out"
            if not was_out and (linked or snapshot):
                return None, None
            # in from now on: later records are kept even if the history pull fails
            entry = gate.out.pop(uuid, {})
            gate.entering[uuid] = _Entering(
                uuid,
                doc.national_id,
                _raw_national_ids(doc, self.config),
                list(entry.get("removed") or []),
            )
            return None, "entering"

    @staticmethod
    def _drop(
        source_id: str,
        patients: list[PatientDoc],
        records: list[RecordDoc],
        out_uuids: set[str],
        patients_out: int,
        reasons: Counter[str],
        wb: WriteBatch,
        summary: SyncSummary,
    ) -> None:
        """Take the patients decided out, and their records, out of the batch (counted,
        one audit entry for the batch)."""
        dropped_records = [r for r in records if r.patient_uuid in out_uuids]
        patients[:] = [p for p in patients if p.uuid not in out_uuids]
        records[:] = [r for r in records if r.patient_uuid not in out_uuids]
        count = len(dropped_records) + patients_out
        summary.out_of_catchment += count
        wb.audit.append(
            AuditEntry(
                kind="catchment",
                source=source_id,
                message=f"{count} changes of {len(out_uuids)} patients outside the catchment "
                "not stored",
                details={"reasons": dict(reasons), "records": len(dropped_records)},
            )
        )

    def _fetch_patients(self, source: Source, uuids: set[str]) -> list[PatientDoc]:
        fetched = source.fetch("Patient", uuids)
        return map_patients(fetched.found.values(), context_for(self.config, source))

    def _facts(
        self,
        rule: Rule,
        source_id: str,
        patients: list[PatientDoc],
        records: list[RecordDoc],
        wb: WriteBatch,
    ) -> dict[str, PatientFacts]:
        parents: dict[str, str | None] = {}
        names: dict[str, str | None] = {}
        if NEEDS_LOCATIONS in rule.needs:
            for uuid, loc in self.store.get_locations(source_id).items():
                parents[uuid], names[uuid] = loc.get("part_of"), loc.get("name")
            for ldoc in wb.locations:
                parents[ldoc.uuid], names[ldoc.uuid] = ldoc.part_of, ldoc.name
        encounter_locs: dict[str, set[str]] = {}
        if NEEDS_ENCOUNTERS in rule.needs:
            for rec in records:
                if rec.resource_type == "Encounter" and rec.patient_uuid:
                    encounter_locs.setdefault(rec.patient_uuid, set()).update(
                        _encounter_locations(rec.raw)
                    )
            for doc in patients:
                for stored in self.store.find_records(
                    source_id, "Encounter", patient_uuid=doc.uuid
                ):
                    encounter_locs.setdefault(doc.uuid, set()).update(
                        _encounter_locations(stored.get("raw") or {})
                    )
        out = {}
        for doc in patients:
            registered = False
            if NEEDS_REGISTERED in rule.needs and doc.national_id:
                registered = self.store.get_patient(doc.national_id) is not None
            out[doc.uuid] = PatientFacts(
                national_id=doc.national_id,
                addresses=doc.addresses,
                identifiers=doc.identifiers,
                encounter_locations=encounter_locs.get(doc.uuid, set()),
                location_parents=parents,
                location_names=names,
                registered=registered,
            )
        return out

    def _leave(self, gate: _Gate, source_id: str, uuid: str, wb: WriteBatch) -> dict[str, Any]:
        """A stored patient turned out: keep, or mark its valid records removed (restorable)."""
        if gate.on_leave != "remove":
            wb.audit.append(
                AuditEntry(
                    kind="catchment",
                    source=source_id,
                    message=f"patient {uuid} left the catchment; records kept (on_leave = keep)",
                )
            )
            return {}
        removed = []
        for rtype in _RECORD_TYPES:
            for doc in self.store.find_records(source_id, rtype, patient_uuid=uuid):
                if doc.get("status") in INVALID_STATUSES:
                    continue
                removed.append([rtype, doc["uuid"], doc.get("status")])
                wb.status_changes.append(
                    StatusChange(
                        source_id, rtype, doc["uuid"], STATUS_ENTERED_IN_ERROR, REMOVED_REASON
                    )
                )
        wb.audit.append(
            AuditEntry(
                kind="catchment",
                source=source_id,
                message=f"patient {uuid} left the catchment: {len(removed)} records marked "
                "removed (on_leave = remove)",
            )
        )
        return {"removed": removed}

    # -- after a batch is stored -----------------------------------------------------------
    def settle(self, source: Source, summary: SyncSummary) -> None:
        """Pull the whole history of patients that entered, then forget they were out.

        Side effects: fetches and stores records from every hospital; saves the state.
        """
        gate = self.gate(source.id)
        if gate is None:
            return
        with gate.lock:
            entering = list(gate.entering.values())
        if not entering or getattr(self._local, "pulling", False):
            return
        self._local.pulling = True
        try:
            for item in entering:
                try:
                    self._enter(gate, source, item, summary)
                except Sync2Error as exc:  # kept in the saved state: retried next run
                    log.warning("catchment history pull failed, retried next run: %s", exc)
                    continue
                with gate.lock:
                    gate.entering.pop(item.uuid, None)
        finally:
            self._local.pulling = False
        self._save(gate)

    def _enter(
        self,
        gate: _Gate,
        source: Source,
        item: _Entering,
        summary: SyncSummary,
    ) -> None:
        summary.entered += 1
        removed = item.removed
        if removed:  # it had left with on_leave = remove: make its records valid again,
            # but only those the hospital still holds (one voided meanwhile stays not valid)
            by_type: dict[str, list[str]] = {}
            for rtype, uuid, _status in removed:
                by_type.setdefault(rtype, []).append(uuid)
            alive: set[tuple[str, str]] = set()
            for rtype, uuids in by_type.items():
                fetched = source.fetch(rtype, uuids)
                if fetched.failures:  # try the whole entry again next run
                    msg = f"cannot re-check {rtype} records of a returning patient"
                    raise TransientSourceError(msg)
                alive.update((rtype, u) for u in fetched.found)
            restore = WriteBatch(
                status_changes=[
                    StatusChange(source.id, rtype, uuid, status or "final", "back in catchment")
                    for rtype, uuid, status in removed
                    if (rtype, uuid) in alive
                ]
            )
            self.store.apply(restore, None)
        pulled = self._pull(source, item.uuid)
        hospitals = 1
        if item.national_id:
            for sc in self.config.sources:
                if sc.id == source.id or not sc.enabled:
                    continue
                try:
                    other = self._source_for(sc.id)
                    there = set(self._known_elsewhere(sc.id, item.national_id))
                    there |= patients_with_national_id(other, item.national_id, item.raw_ids)
                    for uuid in sorted(there):
                        pulled += self._pull(other, uuid)
                    hospitals += bool(there)
                except Sync2Error as exc:
                    log.warning("catchment pull from %s failed: %s", sc.id, exc)
        self.store.add_audit(
            AuditEntry(
                kind="catchment",
                source=source.id,
                message=f"patient {item.uuid} entered the catchment: {pulled} resources pulled "
                f"from {hospitals} hospitals",
            )
        )

    def _known_elsewhere(self, source_id: str, national_id: str) -> list[str]:
        gate = self.gate(source_id)
        return gate.uuids_with_national_id(national_id) if gate is not None else []

    def _pull(self, source: Source, uuid: str) -> int:
        resources = list(source.patient_history(uuid))
        if resources:
            self._apply(source, resources, stream="catchment")
        return len(resources)

    # -- before a sync ---------------------------------------------------------------------
    def refresh(self, source: Source, summary: SyncSummary) -> None:
        """Patients left out whose cohort membership or passport registration changed since
        are decided again now (their patient is fetched), without waiting for a feed event.

        A changed rule (a cohort edited in the config) changes those answers too, so every
        patient it may now let in is looked at once.
        """
        gate = self.gate(source.id)
        if gate is None:
            return
        self.settle(source, summary)  # history pulls a previous run could not finish
        with gate.lock:
            items = list(gate.out.items())
        candidates = []
        check_registered = NEEDS_REGISTERED in gate.rule.needs
        for uuid, entry in items:
            nid = entry.get("nid")
            registered = bool(check_registered and nid and self.store.get_patient(nid))
            if gate.rule.standing(nid, registered) != entry.get("standing"):
                candidates.append(uuid)
        if not candidates:
            return
        fetched = source.fetch("Patient", candidates)
        if fetched.found:
            inner = self._apply(source, list(fetched.found.values()), stream="catchment")
            summary.add(inner)


def _encounter_locations(raw: dict[str, Any]) -> set[str]:
    out = set()
    for item in raw.get("location") or []:
        ref = (item.get("location") or {}).get("reference") if isinstance(item, dict) else None
        if isinstance(ref, str) and ref:
            out.add(ref.rstrip("/").rsplit("/", 1)[-1])
    return out


def _raw_national_ids(doc: PatientDoc, config: Config) -> list[str]:
    """The national ID as this hospital wrote it (FHIR identifier search is exact)."""
    wanted = {t.casefold() for t in config.matching.identifier_types}
    out = []
    for ident in doc.identifiers:
        labels = (ident.get("type"), ident.get("system"), ident.get("type_uuid"))
        value = ident.get("value")
        if value and any(isinstance(x, str) and x.casefold() in wanted for x in labels):
            out.append(str(value))
    return out
