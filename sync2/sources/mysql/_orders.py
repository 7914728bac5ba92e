"""Drug orders, test orders and dispenses: row ids -> MedicationRequest / ServiceRequest /
MedicationDispense resources.

1.10+ orders are read as they are; 1.9 orders (``start_date``, ``discontinued``, free-text
``units`` / ``frequency``, ``prn``) are read into the 1.10 keys, so the builders in
``mappers.openmrs_rows`` serve both. A DISCONTINUE order is no resource (fhir2 never serves
one): the change query finds it, and what it changes is the stopped order, read again here with
``stopped_at`` = when the stopping order was written (so the stopped order's version moves).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mappers import openmrs_rows as rows_to_fhir
from mappers.openmrs_rows import ConceptInfo, DispenseContext, OrderContext

from .._base import Gone
from ._lookup import Lookup
from ._refs import Refs

Built = tuple[list[dict[str, Any]], list[Gone]]
#: The concept columns of an order or dispense row, by the role OrderContext gives them.
_ROLES = {
    "concept": "concept_id",
    "reason": "order_reason",
    "dose_units": "dose_units",
    "quantity_units": "quantity_units",
    "route": "route",
    "frequency": "frequency_concept_id",
    "duration_units": "duration_units",
}
_DISPENSE_ROLES = {
    "status_reason": "status_reason",
    "dispense_type": "type",
    "substitution_type": "substitution_type",
    "substitution_reason": "substitution_reason",
}


#: SQL: when the order that stops or revises ``x`` was written (NULL: none yet).
_STOPPED_AT = "(SELECT MAX(n.date_created) FROM orders n WHERE n.previous_order_id = x.order_id)"


class Orders:
    """Builds order and dispense resources for one source connection."""

    def __init__(self, lookup: Lookup, now: datetime) -> None:
        self.lookup = lookup
        self.schema = lookup.schema
        self.refs = Refs(lookup)
        self.now = now

    # -- row readers -----------------------------------------------------------------------
    def order_rows(self, kind: str, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        """``drug_order`` or ``test_order`` rows joined to ``orders`` (alias ``x``)."""
        sub = "d" if kind == "drug_order" else "t"
        if not self.schema.orders_110:
            return self._orders_19(where, ids)
        frequency = (
            "f.concept_id AS frequency_concept_id FROM orders x "
            f"JOIN {kind} {sub} ON {sub}.order_id = x.order_id "
            f"LEFT JOIN order_frequency f ON f.order_frequency_id = {sub}.frequency "
            if self.schema.has("order_frequency")
            else f"NULL AS frequency_concept_id FROM orders x JOIN {kind} {sub} "
            f"ON {sub}.order_id = x.order_id "
        )
        return self.lookup.select_in(
            f"SELECT {sub}.*, x.*, x.order_id AS pk, p.uuid AS previous_uuid, "
            f"p.order_number AS previous_number, {_STOPPED_AT} AS stopped_at, {frequency}"
            "LEFT JOIN orders p ON p.order_id = x.previous_order_id "
            f"WHERE {where} AND x.order_action <> 'DISCONTINUE'",
            ids,
        )

    def _orders_19(self, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        """1.9 drug orders in 1.10 terms: a discontinued order stopped at its discontinue date."""
        return self.lookup.select_in(
            "SELECT x.order_id AS pk, x.uuid, x.patient_id, x.concept_id, x.orderer, "
            "x.encounter_id, x.instructions, x.start_date AS date_activated, x.auto_expire_date, "
            "CASE WHEN x.discontinued = 1 THEN COALESCE(x.discontinued_date, x.date_created) "
            "END AS date_stopped, x.discontinued_date AS stopped_at, x.creator, x.date_created, "
            "x.voided, x.date_voided, x.accession_number, 'NEW' AS order_action, "
            "d.drug_inventory_id, d.dose, d.units AS units_text, d.frequency AS frequency_text, "
            "d.prn AS as_needed, d.quantity, NULL AS previous_uuid, NULL AS previous_number "
            f"FROM orders x JOIN drug_order d ON d.order_id = x.order_id WHERE {where}",
            ids,
        )

    def dispense_rows(self, where: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        return self.lookup.select_in(
            "SELECT x.*, x.medication_dispense_id AS pk, x.drug_id AS drug_inventory_id, "
            "x.concept AS concept_id, f.concept_id AS frequency_concept_id, "
            "o.uuid AS prescription_uuid FROM medication_dispense x "
            "LEFT JOIN order_frequency f ON f.order_frequency_id = x.frequency "
            f"LEFT JOIN orders o ON o.order_id = x.drug_order_id WHERE {where}",
            ids,
        )

    # -- builders --------------------------------------------------------------------------
    def _contexts(self, rows: list[dict[str, Any]]) -> dict[int, OrderContext]:
        """pk -> the OrderContext of each row, with one query per referenced table."""
        concepts = self.refs.concepts(rows, *_ROLES.values())
        patients = self.refs.patients(rows, "patient_id")
        encounters = self.refs.encounters(rows, "encounter_id")
        drugs = self.refs.drugs(
            int(r["drug_inventory_id"]) for r in rows if r.get("drug_inventory_id")
        )
        orderers = {int(r["orderer"]) for r in rows if r.get("orderer")}
        requesters = (
            self.refs.providers(orderers)
            if self.schema.orders_110
            else self.refs.user_providers(orderers)
        )
        out = {}
        for row in rows:

            def concept(column: str, row: dict[str, Any] = row) -> ConceptInfo | None:
                return concepts.get(int(row.get(column) or 0))

            encounter = encounters.get(int(row.get("encounter_id") or 0))
            previous = row.get("previous_uuid")
            out[int(row["pk"])] = OrderContext(
                patient_uuid=patients.get(int(row["patient_id"])),
                encounter_uuid=encounter[0] if encounter else None,
                requester=requesters.get(int(row.get("orderer") or 0)),
                drug=drugs.get(int(row.get("drug_inventory_id") or 0)),
                previous=(str(previous), row.get("previous_number")) if previous else None,
                **{role: concept(column) for role, column in _ROLES.items()},
            )
        return out

    def _build(self, rows: list[dict[str, Any]], resource_type: str, build: Any) -> Built:
        contexts = self._contexts(rows)
        resources, gone = [], []
        for row in rows:
            if rows_to_fhir.flag(row.get("voided")):
                gone.append(Gone(resource_type, str(row["uuid"]), "voided"))
                continue
            resources.append(build(row, contexts[int(row["pk"])], now=self.now))
        return resources, gone

    def drug_orders(self, rows: list[dict[str, Any]]) -> Built:
        return self._build(rows, "MedicationRequest", rows_to_fhir.medication_request_resource)

    def test_orders(self, rows: list[dict[str, Any]]) -> Built:
        return self._build(rows, "ServiceRequest", rows_to_fhir.service_request_resource)

    def _status_maps(self, concept_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
        """Status concept -> its mappings with source name and fhir2 URL (when registered)."""
        if not self.schema.reference_terms:
            return {}
        url, join = (
            (
                "fs.url",
                "LEFT JOIN fhir_concept_source fs "
                "ON fs.concept_source_id = t.concept_source_id AND fs.retired = 0 ",
            )
            if self.schema.has("fhir_concept_source", "url")
            else ("NULL AS url", "")
        )
        out: dict[int, list[dict[str, Any]]] = {}
        for r in self.lookup.select_in(
            f"SELECT m.concept_id, t.code, src.name AS source_name, mt.name AS map_type, {url} "
            "FROM concept_reference_map m JOIN concept_reference_term t "
            "ON t.concept_reference_term_id = m.concept_reference_term_id "
            "JOIN concept_reference_source src ON src.concept_source_id = t.concept_source_id "
            f"{join}"
            "LEFT JOIN concept_map_type mt ON mt.concept_map_type_id = m.concept_map_type_id "
            "WHERE m.concept_id IN ({ids})",
            concept_ids,
        ):
            out.setdefault(int(r["concept_id"]), []).append(r)
        return out

    def dispenses(self, rows: list[dict[str, Any]]) -> Built:
        contexts = self._contexts(rows)
        concepts = self.refs.concepts(rows, *_DISPENSE_ROLES.values())
        statuses = self._status_maps({int(r["status"]) for r in rows if r.get("status")})
        locations = self.refs.locations(int(r["location_id"]) for r in rows if r.get("location_id"))
        dispensers = self.refs.providers(int(r["dispenser"]) for r in rows if r.get("dispenser"))
        resources, gone = [], []
        for row in rows:
            if rows_to_fhir.flag(row.get("voided")):
                gone.append(Gone("MedicationDispense", str(row["uuid"]), "voided"))
                continue
            ctx = DispenseContext(
                order=contexts[int(row["pk"])],
                status=rows_to_fhir.dispense_status(statuses.get(int(row.get("status") or 0), [])),
                location=locations.get(int(row.get("location_id") or 0)),
                dispenser=dispensers.get(int(row.get("dispenser") or 0)),
                prescription_uuid=row.get("prescription_uuid"),
                **{
                    role: concepts.get(int(row.get(column) or 0))
                    for role, column in _DISPENSE_ROLES.items()
                },
            )
            resources.append(rows_to_fhir.medication_dispense_resource(row, ctx))
        return resources, gone
