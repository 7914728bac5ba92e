"""Allergies, conditions, diagnoses, orders, dispenses and lab reports: the simulated hospital's
mutations for the whole-history types, written as OpenMRS writes them.

- an allergy, a condition and a report are edited in place (``date_changed``): UPDATED;
- an order is immutable: a revise or discontinue is a *new* order (action REVISE / DISCONTINUE,
  ``previous_order_id``) and stops the old one (``date_stopped``): CREATED + UPDATED;
- a void is UPDATED + VOIDED, and reads then answer 410, like every other type.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ._concepts import ALLERGENS, DIAGNOSES, DRUGS, FREQUENCIES, REACTIONS, TESTS
from ._records import (
    CLINICAL_TYPES,
    Allergy,
    Clinical,
    Condition,
    Dispense,
    DrugOrder,
    Encounter,
    Order,
    Patient,
    Practitioner,
    Report,
    TestOrder,
)
from ._util import new_uuid

if TYPE_CHECKING:
    from ._records import Table

_CATEGORY = {
    "AllergyIntolerance": "allergy",
    "MedicationRequest": "drug_order",
    "ServiceRequest": "test_order",
    "MedicationDispense": "medication_dispense",
    "DiagnosticReport": "diagnostic_report",
}
_DAY = 86400


def clinical_category(rec: Clinical) -> str:
    """The atom feed category a row is published in."""
    if isinstance(rec, Condition):
        return "condition" if rec.rank is None else "diagnosis"
    return _CATEGORY[rec.resource_type]


class ClinicalMutations:
    """Mixed into Hospital: these methods use its lock, clock (``now``), tables and feed
    primitives (``_insert``, ``_touch``, ``_void``, ``_event``, ``_dirty``, ``_get``)."""

    rng: random.Random
    lock: Any
    patients: Table
    encounters: Table
    practitioners: Table
    tables: dict[str, Table]
    version: int
    now: Any
    _insert: Any
    _touch: Any
    _void: Any
    _event: Any
    _dirty: Any
    _get: Any
    new_obs: Any
    new_encounter: Any

    # ------------------------------------------------------------------ helpers
    def _provider(self) -> Practitioner:
        return self.rng.choice(self.practitioners.rows)  # type: ignore[return-value]

    def _patient(self, uuid: str) -> Patient:
        return self._get(self.patients, uuid, "patient")  # type: ignore[no-any-return]

    def _encounter_for(self, p: Patient, encounter_uuid: str | None, when: int) -> Encounter:
        if encounter_uuid is not None:
            return self._get(self.encounters, encounter_uuid, "encounter")  # type: ignore[no-any-return]
        return self.new_encounter(p, when)

    def _row(self, resource_type: str, uuid: str, what: str) -> Any:
        return self._get(self.tables[resource_type], uuid, what)

    def _stop(self, order: Order, when: int) -> None:
        """``date_stopped`` set: the order is unchanged in the index (lastUpdated is
        date_created for orders), but its status changes and the interceptor says UPDATED."""
        order.stopped = when
        self.version += 1
        self._dirty([order])
        self._event(clinical_category(order), "UPDATED", order, when)

    # ------------------------------------------------------------------ allergies
    def add_allergy(
        self,
        patient_uuid: str,
        allergen: str | None = None,
        severity: str | None = None,
        reactions: tuple[str, ...] | None = None,
        comment: str = "",
    ) -> str:
        """Record an allergy (random allergen/severity/reactions unless given); its uuid."""
        with self.lock:
            p = self._patient(patient_uuid)
            rng = self.rng
            allergen = allergen or rng.choice(sorted(ALLERGENS))
            if allergen not in ALLERGENS:
                msg = f"unknown allergen {allergen!r}; known: {sorted(ALLERGENS)}"
                raise ValueError(msg)
            a = Allergy(
                new_uuid(rng),
                self.now(),
                p,
                self._provider(),
                allergen,
                severity or rng.choice(("mild", "moderate", "severe")),
                reactions or tuple(rng.sample(sorted(REACTIONS), rng.randint(1, 2))),
                comment,
            )
            self._insert(a)
            return a.uuid

    def edit_allergy(self, uuid: str, **changes: Any) -> None:
        """Change ``severity``, ``reactions`` or ``comment`` in place: UPDATED."""
        unknown = set(changes) - {"severity", "reactions", "comment"}
        if unknown:
            msg = f"unknown allergy fields {sorted(unknown)}"
            raise ValueError(msg)
        with self.lock:
            a: Allergy = self._row("AllergyIntolerance", uuid, "allergy")
            for key, value in changes.items():
                setattr(a, key, tuple(value) if key == "reactions" else value)
            self._touch(a, self.now())

    # ------------------------------------------------------------------ conditions
    def add_condition(
        self,
        patient_uuid: str,
        diagnosis: str | None = None,
        *,
        encounter_uuid: str | None = None,
        rank: int | None = None,
    ) -> str:
        """A problem-list condition, or with ``rank`` an encounter diagnosis; its uuid."""
        with self.lock:
            p = self._patient(patient_uuid)
            when = self.now()
            diagnosis = diagnosis or self.rng.choice(sorted(DIAGNOSES))
            if diagnosis not in DIAGNOSES:
                msg = f"unknown diagnosis {diagnosis!r}; known: {sorted(DIAGNOSES)}"
                raise ValueError(msg)
            enc = None
            if rank is not None:
                enc = self._encounter_for(p, encounter_uuid, when)
            onset = when - self.rng.randint(0, 30) * _DAY
            c = Condition(
                new_uuid(self.rng), when, p, self._provider(), diagnosis, onset, enc, rank
            )
            self._insert(c)
            return c.uuid

    def resolve_condition(self, uuid: str) -> None:
        """The condition is over: clinical status inactive, an end date; UPDATED."""
        with self.lock:
            c: Condition = self._row("Condition", uuid, "condition")
            when = self.now()
            c.status, c.end = "inactive", when
            self._touch(c, when)

    # ------------------------------------------------------------------ orders
    def prescribe(
        self,
        patient_uuid: str,
        drug: str | None = None,
        *,
        dose: float | None = None,
        frequency: str | None = None,
        duration: int | None = None,
        encounter_uuid: str | None = None,
    ) -> str:
        """A new drug order (MedicationRequest); its uuid."""
        with self.lock:
            p = self._patient(patient_uuid)
            when = self.now()
            rng = self.rng
            drug = drug or rng.choice(sorted(DRUGS))
            if drug not in DRUGS:
                msg = f"unknown drug {drug!r}; known: {sorted(DRUGS)}"
                raise ValueError(msg)
            o = DrugOrder(
                new_uuid(rng),
                when,
                p,
                self._provider(),
                self._encounter_for(p, encounter_uuid, when),
                drug,
                dose if dose is not None else float(rng.choice((1, 2))),
                frequency or rng.choice(sorted(FREQUENCIES)),
                duration or rng.choice((5, 7, 14, 30)),
            )
            self._insert(o)
            return o.uuid

    def revise_order(self, uuid: str, **changes: Any) -> str:
        """A revised drug order (``dose``, ``frequency``, ``duration``): a new order that
        supersedes ``uuid``, which stops; returns the new uuid."""
        unknown = set(changes) - {"dose", "frequency", "duration"}
        if unknown:
            msg = f"unknown drug order fields {sorted(unknown)}"
            raise ValueError(msg)
        with self.lock:
            old: DrugOrder = self._row("MedicationRequest", uuid, "drug order")
            return self._successor(old, "REVISE", changes)

    def discontinue_order(self, uuid: str) -> str:
        """Stop a drug or test order: a DISCONTINUE order pointing at it; its uuid."""
        with self.lock:
            drugs = self.tables["MedicationRequest"]
            rtype = "MedicationRequest" if uuid in drugs.by_uuid else "ServiceRequest"
            return self._successor(self._row(rtype, uuid, "order"), "DISCONTINUE", {})

    def _successor(self, old: Order, action: str, changes: dict[str, Any]) -> str:
        """Save the order that revises or discontinues ``old`` and stop ``old``."""
        self._check_open(old)
        when = self.now()
        new: Order
        if isinstance(old, DrugOrder):
            new = DrugOrder(
                new_uuid(self.rng),
                when,
                old.patient,
                self._provider(),
                old.encounter,
                old.drug,
                float(changes.get("dose", old.dose)),
                str(changes.get("frequency", old.frequency)),
                int(changes.get("duration", old.duration)),
            )
        else:
            assert isinstance(old, TestOrder)
            new = TestOrder(
                new_uuid(self.rng), when, old.patient, self._provider(), old.encounter, old.test
            )
        new.action, new.previous = action, old
        self._insert(new)
        self._stop(old, when)
        return new.uuid

    def _check_open(self, order: Order) -> None:
        if order.voided or order.stopped is not None or order.action == "DISCONTINUE":
            msg = f"order {order.uuid} is voided, stopped or a discontinuation"
            raise ValueError(msg)

    def dispense(self, order_uuid: str, quantity: int | None = None) -> str:
        """Hand over medication against a drug order (MedicationDispense); its uuid."""
        with self.lock:
            order: DrugOrder = self._row("MedicationRequest", order_uuid, "drug order")
            d = Dispense(
                new_uuid(self.rng),
                self.now(),
                order.patient,
                self._provider(),
                order,
                quantity or self.rng.choice((10, 20, 30)),
            )
            self._insert(d)
            return d.uuid

    def order_test(
        self, patient_uuid: str, test: str | None = None, *, encounter_uuid: str | None = None
    ) -> str:
        """A lab test order (ServiceRequest); its uuid."""
        with self.lock:
            p = self._patient(patient_uuid)
            when = self.now()
            test = test or self.rng.choice(sorted(TESTS))
            if test not in TESTS:
                msg = f"unknown test {test!r}; known: {sorted(TESTS)}"
                raise ValueError(msg)
            enc = self._encounter_for(p, encounter_uuid, when)
            o = TestOrder(new_uuid(self.rng), when, p, self._provider(), enc, test)
            self._insert(o)
            return o.uuid

    def report_result(self, order_uuid: str, value: float | None = None) -> str:
        """The lab's report on a test order: a result obs in the order's encounter and a
        DiagnosticReport based on the order; returns the report uuid."""
        with self.lock:
            order: TestOrder = self._row("ServiceRequest", order_uuid, "test order")
            when = self.now()
            assert order.encounter is not None
            kind = TESTS[order.test][2]
            result = self.new_obs(order.patient, order.encounter, kind, value, when)
            r = Report(new_uuid(self.rng), when, order.patient, self._provider(), order, [result])
            r.conclusion = "Reviewed"
            self._insert(r)
            return r.uuid

    # ------------------------------------------------------------------ any type
    def void_record(self, resource_type: str, uuid: str) -> None:
        """Void one row of a whole-history type: UPDATED + VOIDED; reads then answer 410."""
        with self.lock:
            rec = self._row(resource_type, uuid, resource_type)
            if not rec.voided:
                self._void(rec, self.now())

    def history_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """What a correct passport holds for the whole-history types, from the rows alone:
        type -> uuid -> ``{"valid": bool, "superseded_by": uuid | None, "row": the row}``.

        Voided rows are not valid; an order with a live successor (revise, discontinue) is
        superseded by it; a test order with a live report is superseded by the report.
        """
        with self.lock:
            successor: dict[str, str] = {}
            for rtype in ("MedicationRequest", "ServiceRequest", "DiagnosticReport"):
                for rec in self.tables[rtype].rows:
                    if rec.voided:
                        continue
                    earlier = rec.order if isinstance(rec, Report) else rec.previous  # type: ignore[attr-defined]
                    if earlier is not None:
                        successor[earlier.uuid] = rec.uuid
            out: dict[str, dict[str, dict[str, Any]]] = {}
            for rtype in CLINICAL_TYPES:
                out[rtype] = {
                    rec.uuid: {
                        "valid": not rec.voided and rec.uuid not in successor,
                        "superseded_by": None if rec.voided else successor.get(rec.uuid),
                        "row": rec,
                    }
                    for rec in self.tables[rtype].rows
                }
            return out


def plan_clinical(
    h: ClinicalMutations, rng: random.Random, p: Patient, encounters: list[Encounter]
) -> list[tuple[int, Any]]:
    """Timed calls that give one generated patient a plausible whole history, replayed in
    time order with the obs so the feeds interleave as a real server's do."""
    ops: list[tuple[int, Any]] = []
    if not encounters:
        return ops
    first, enc = encounters[0], rng.choice(encounters)
    if rng.random() < 0.5:
        ops.append((first.start + 600, lambda: h.add_allergy(p.uuid)))
    if rng.random() < 0.5:
        ops.append((first.start + 601, lambda: h.add_condition(p.uuid)))
    if rng.random() < 0.4:
        ops.append(
            (enc.start + 602, lambda: h.add_condition(p.uuid, encounter_uuid=enc.uuid, rank=1))
        )
    if rng.random() < 0.6:
        ops.append((enc.start + 603, lambda: h.prescribe(p.uuid, encounter_uuid=enc.uuid)))
    if rng.random() < 0.4:
        ops.append((enc.start + 604, lambda: h.order_test(p.uuid, encounter_uuid=enc.uuid)))
    later = max(e.start for e in encounters) + 2 * _DAY
    ops.append((later, lambda: follow_ups(h, random.Random(f"{p.uuid}:follow-up"), p)))
    return ops


def follow_ups(h: ClinicalMutations, rng: random.Random, p: Patient) -> None:
    """Later changes to a patient's whole history: edits, revisions, discontinues, resolves,
    dispenses, results and voids (called at ``when`` during replay)."""
    for rec in list(p.clinical):
        if rec.voided:
            continue
        r = rng.random()
        if isinstance(rec, Allergy):
            if r < 0.2:
                h.edit_allergy(rec.uuid, severity="severe", comment="Confirmed on re-exposure")
            elif r < 0.3:
                h.void_record("AllergyIntolerance", rec.uuid)
        elif isinstance(rec, Condition) and rec.rank is None and r < 0.3:
            h.resolve_condition(rec.uuid)
        elif isinstance(rec, DrugOrder) and rec.action == "NEW" and rec.stopped is None:
            if r < 0.2:
                h.revise_order(rec.uuid, dose=rec.dose + 1)
            elif r < 0.35:
                h.discontinue_order(rec.uuid)
            elif r < 0.7:
                h.dispense(rec.uuid)
        elif isinstance(rec, TestOrder) and rec.action == "NEW" and rec.stopped is None:
            if r < 0.7:
                h.report_result(rec.uuid)
            elif r < 0.8:
                h.discontinue_order(rec.uuid)
