"""Allergies, problems and diagnoses: row ids -> AllergyIntolerance / Condition resources.

2.x keeps them in ``allergy`` (+ ``allergy_reaction``), ``conditions`` and
``encounter_diagnosis``; 1.9-1.12 in ``active_list`` with ``active_list_allergy`` or
``active_list_problem``. The SQL reads both shapes into the row keys the pure builders in
``mappers.openmrs_rows`` expect, so the builders never ask which version they are looking at.
A voided row is a :class:`Gone` (with the row that replaced it, when a 2.x condition was
edited); everything else becomes a resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mappers import openmrs_rows as rows_to_fhir
from mappers.openmrs_rows import AllergyContext, ConditionContext

from .._base import Gone
from ._lookup import Lookup
from ._refs import Refs

Built = tuple[list[dict[str, Any]], list[Gone]]
_SEVERITY_PROPERTIES = {
    f"allergy.concept.severity.{level}": level for level in rows_to_fhir.SEVERITIES
}


def _voided(row: dict[str, Any], resource_type: str) -> Gone | None:
    if not rows_to_fhir.flag(row.get("voided")):
        return None
    return Gone(resource_type, str(row["uuid"]), "voided", replaced_by=row.get("replaced_by"))


def _times(lookup: Lookup, table: str, alias: str) -> str:
    """The optional time columns of ``table`` (``date_changed`` came late to some)."""
    cols = [f"{alias}.{c}" for c in lookup.schema.optional(table, "date_changed")]
    return "".join(f", {c}" for c in cols)


class Clinical:
    """Builds allergy and condition resources for one source connection."""

    def __init__(self, lookup: Lookup, now: datetime) -> None:
        self.lookup = lookup
        self.schema = lookup.schema
        self.refs = Refs(lookup)
        self.now = now
        self._severities: dict[str, str] | None = None

    # -- row readers (one per schema shape) ------------------------------------------------
    def allergy_rows(self, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        """Allergy rows by ``where`` over alias ``x`` (``x.allergy_id`` / ``x.active_list_id``)."""
        if self.schema.has("allergy", "allergen_type"):
            return self.lookup.select_in(
                f"SELECT x.*, x.allergy_id AS pk FROM allergy x WHERE {where}", ids
            )
        return self.lookup.select_in(
            "SELECT x.active_list_id AS pk, x.uuid, x.person_id AS patient_id, "
            "x.concept_id AS coded_allergen, NULL AS non_coded_allergen, "
            "a.allergy_type AS allergen_type, x.comments, x.start_date AS onset_date, x.end_date, "
            "x.creator, x.date_created, x.voided, x.date_voided, a.severity AS severity_text, "
            f"a.reaction_concept_id{_times(self.lookup, 'active_list', 'x')} "
            "FROM active_list x JOIN active_list_allergy a ON a.active_list_id = x.active_list_id "
            f"WHERE {where}",
            ids,
        )

    def problem_rows(self, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        """Problem rows by ``where`` over alias ``x``, with ``replaced_by`` for 2.x edits."""
        if self.schema.has("conditions"):
            replaced = (
                "(SELECT n.uuid FROM conditions n WHERE n.previous_version = x.condition_id "
                "ORDER BY n.condition_id LIMIT 1)"
                if self.schema.has("conditions", "previous_version")
                else "NULL"
            )
            return self.lookup.select_in(
                f"SELECT x.*, x.condition_id AS pk, {replaced} AS replaced_by "
                f"FROM conditions x WHERE {where}",
                ids,
            )
        rows = self.lookup.select_in(
            "SELECT x.active_list_id AS pk, x.uuid, x.person_id AS patient_id, "
            "x.concept_id AS condition_coded, x.start_date AS onset_date, x.end_date, "
            "x.comments AS additional_detail, p.status AS modifier, x.creator, x.date_created, "
            f"x.voided, x.date_voided{_times(self.lookup, 'active_list', 'x')} "
            "FROM active_list x JOIN active_list_problem p ON p.active_list_id = x.active_list_id "
            f"WHERE {where}",
            ids,
        )
        for row in rows:
            clinical, verification = rows_to_fhir.legacy_problem_status(
                row.get("modifier"), row.get("end_date")
            )
            row["clinical_status"], row["verification_status"] = clinical, verification
        return rows

    def diagnosis_rows(self, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        return self.lookup.select_in(
            f"SELECT x.*, x.diagnosis_id AS pk FROM encounter_diagnosis x WHERE {where}", ids
        )

    # -- builders --------------------------------------------------------------------------
    def severities(self) -> dict[str, str]:
        """Severity concept uuid -> mild / moderate / severe (global properties, 2.x)."""
        if self._severities is None:
            found = self.refs.global_properties(_SEVERITY_PROPERTIES)
            self._severities = {uuid: _SEVERITY_PROPERTIES[p] for p, uuid in found.items() if uuid}
        return self._severities

    def _reactions(self, rows: list[dict[str, Any]]) -> dict[int, list[tuple[Any, Any]]]:
        """allergy pk -> [(reaction concept_id, free text)] (2.x table, or 1.9's one column)."""
        out: dict[int, list[tuple[Any, Any]]] = {}
        if self.schema.has("allergy_reaction"):
            for r in self.lookup.select_in(
                "SELECT allergy_id, reaction_concept_id, reaction_non_coded FROM allergy_reaction "
                "WHERE allergy_id IN ({ids}) ORDER BY allergy_reaction_id",
                [r["pk"] for r in rows],
            ):
                out.setdefault(int(r["allergy_id"]), []).append(
                    (r.get("reaction_concept_id"), r.get("reaction_non_coded"))
                )
        else:
            for r in rows:
                if r.get("reaction_concept_id") is not None:
                    out[int(r["pk"])] = [(r["reaction_concept_id"], None)]
        return out

    def allergies(self, rows: list[dict[str, Any]]) -> Built:
        reactions = self._reactions(rows)
        reaction_ids = [c for items in reactions.values() for c, _ in items if c is not None]
        concepts = self.refs.concepts(rows, "coded_allergen", "severity_concept_id")
        concepts.update(self.lookup.concepts(reaction_ids))
        patients = self.refs.patients(rows, "patient_id")
        users = self.refs.users(int(r["creator"]) for r in rows if r.get("creator"))
        severities = self.severities()
        resources, gone = [], []
        for row in rows:
            voided = _voided(row, "AllergyIntolerance")
            if voided:
                gone.append(voided)
                continue
            severity_concept = concepts.get(int(row.get("severity_concept_id") or 0))
            severity = (
                severities.get(severity_concept.uuid)
                if severity_concept
                else rows_to_fhir.severity_from_text(row.get("severity_text"))
            )
            ctx = AllergyContext(
                patient_uuid=patients.get(int(row["patient_id"])),
                allergen=concepts.get(int(row.get("coded_allergen") or 0)),
                severity=severity,
                reactions=tuple(
                    (concepts.get(int(c)) if c is not None else None, free)
                    for c, free in reactions.get(int(row["pk"]), [])
                ),
                recorder=users.get(int(row.get("creator") or 0)),
            )
            resources.append(rows_to_fhir.allergy_resource(row, ctx, now=self.now))
        return resources, gone

    def _conditions(self, rows: list[dict[str, Any]], coded: str, diagnosis: bool) -> Built:
        concepts = self.refs.concepts(rows, coded)
        patients = self.refs.patients(rows, "patient_id")
        encounters = self.refs.encounters(rows, "encounter_id")
        users = self.refs.users(int(r["creator"]) for r in rows if r.get("creator"))
        build = rows_to_fhir.diagnosis_resource if diagnosis else rows_to_fhir.condition_resource
        resources, gone = [], []
        for row in rows:
            voided = _voided(row, "Condition")
            if voided:
                gone.append(voided)
                continue
            encounter = encounters.get(int(row.get("encounter_id") or 0))
            ctx = ConditionContext(
                patient_uuid=patients.get(int(row["patient_id"])),
                concept=concepts.get(int(row.get(coded) or 0)),
                recorder=users.get(int(row.get("creator") or 0)),
                encounter_uuid=encounter[0] if encounter else None,
                encounter_datetime=encounter[1] if encounter else None,
            )
            resources.append(build(row, ctx))
        return resources, gone

    def problems(self, rows: list[dict[str, Any]]) -> Built:
        return self._conditions(rows, "condition_coded", diagnosis=False)

    def diagnoses(self, rows: list[dict[str, Any]]) -> Built:
        return self._conditions(rows, "diagnosis_coded", diagnosis=True)
