"""One entry point over the clinical kinds: read rows by id, uuid or patient, build resources.

The source's streams, point look-ups and patient histories all go through here, so a kind's
table, key and patient column are named once (they differ between the 2.x tables and 1.9's
active list).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ._clinical import Built, Clinical
from ._lookup import Lookup
from ._orders import Orders

#: kind -> the FHIR resource type it becomes.
RESOURCE_TYPES = {
    "allergy": "AllergyIntolerance",
    "problem": "Condition",
    "diagnosis": "Condition",
    "drug_order": "MedicationRequest",
    "test_order": "ServiceRequest",
    "dispense": "MedicationDispense",
}
#: stream -> kind.
STREAM_KINDS = {
    "mysql:allergy": "allergy",
    "mysql:condition": "problem",
    "mysql:diagnosis": "diagnosis",
    "mysql:drug_order": "drug_order",
    "mysql:test_order": "test_order",
    "mysql:dispense": "dispense",
}
_KEYS = {
    "problem": "x.condition_id",
    "allergy": "x.allergy_id",
    "diagnosis": "x.diagnosis_id",
    "drug_order": "x.order_id",
    "test_order": "x.order_id",
    "dispense": "x.medication_dispense_id",
}


class ClinicalReader:
    """Rows -> resources for every clinical kind this hospital's schema has."""

    def __init__(self, lookup: Lookup, now: datetime) -> None:
        self.schema = lookup.schema
        self.clinical = Clinical(lookup, now)
        self.orders = Orders(lookup, now)

    def kinds(self, resource_type: str | None = None) -> list[str]:
        return [
            kind
            for kind, rtype in RESOURCE_TYPES.items()
            if self.schema.clinical(kind) and resource_type in (None, rtype)
        ]

    def _legacy(self, kind: str) -> bool:
        return (
            kind in ("allergy", "problem")
            and self.schema.active_list
            and not (
                self.schema.has("allergy", "allergen_type")
                if kind == "allergy"
                else self.schema.has("conditions")
            )
        )

    def key(self, kind: str) -> str:
        return "x.active_list_id" if self._legacy(kind) else _KEYS[kind]

    def patient_column(self, kind: str) -> str:
        return "x.person_id" if self._legacy(kind) else "x.patient_id"

    def rows(self, kind: str, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        if kind == "allergy":
            return self.clinical.allergy_rows(where, ids)
        if kind == "problem":
            return self.clinical.problem_rows(where, ids)
        if kind == "diagnosis":
            return self.clinical.diagnosis_rows(where, ids)
        if kind == "dispense":
            return self.orders.dispense_rows(where, ids)
        return self.orders.order_rows(kind, where, ids)

    def build(self, kind: str, rows: list[dict[str, Any]]) -> Built:
        if not rows:
            return [], []
        builders = {
            "allergy": self.clinical.allergies,
            "problem": self.clinical.problems,
            "diagnosis": self.clinical.diagnoses,
            "drug_order": self.orders.drug_orders,
            "test_order": self.orders.test_orders,
            "dispense": self.orders.dispenses,
        }
        return builders[kind](rows)

    def by_ids(self, kind: str, ids: Iterable[int]) -> Built:
        return self.build(kind, self.rows(kind, f"{self.key(kind)} IN ({{ids}})", ids))

    def by_uuids(self, resource_type: str, uuids: Iterable[str]) -> Built:
        resources: list[dict[str, Any]] = []
        gone = []
        wanted = list(uuids)
        for kind in self.kinds(resource_type):
            found, lost = self.build(kind, self.rows(kind, "x.uuid IN ({ids})", wanted))
            resources.extend(found)
            gone.extend(lost)
        return resources, gone

    def for_patient(self, person_id: int) -> list[dict[str, Any]]:
        """Every valid clinical resource of one patient (a patient has hundreds at most)."""
        out: list[dict[str, Any]] = []
        for kind in self.kinds():
            where = f"{self.patient_column(kind)} IN ({{ids}}) AND x.voided = 0"
            out.extend(self.build(kind, self.rows(kind, where, [person_id]))[0])
        return out
