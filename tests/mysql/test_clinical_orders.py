"""Drug orders, test orders and dispenses from the real DBUnit datasets, checked against their
rows (the standard dataset first, the delta after it: the later row of one key wins, as the
REPLACE loader leaves it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mysql.clinical import drain, iso, source, truth, uuids, voided

pytestmark = pytest.mark.mysql

STANDARD = "core_standardTestDataset.xml"
MEDICATION = "fhir2_FhirMedicationRequestDaoImpl_initial_data.xml"
SERVICE = "fhir2_FhirServiceRequestTest_initial_data.xml"
DISPENSE = (
    "core_MedicationDispenseServiceTest-initialData.xml",
    "fhir2_FhirMedicationDispenseDaoImplTest_initial_data.xml",
)


def merged(datasets: Any, table: str, key: str, *names: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        for row in datasets.rows(name, table):
            out[row[key]] = row
    return out


def test_drug_orders_match_the_dataset_rows(datasets, openmrs):
    db = datasets.db(MEDICATION)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:drug_order")
    assert failures == []
    orders = merged(datasets, "orders", "order_id", STANDARD, MEDICATION)
    drug_orders = merged(datasets, "drug_order", "order_id", STANDARD, MEDICATION)
    patients = uuids(openmrs, db, "person", "person_id")
    concepts = uuids(openmrs, db, "concept", "concept_id")
    drugs = {r["drug_id"]: r for r in truth(openmrs, db, "SELECT drug_id, uuid, name FROM drug")}
    frequencies = {
        r["order_frequency_id"]: concepts[r["concept_id"]]
        for r in truth(openmrs, db, "SELECT order_frequency_id, concept_id FROM order_frequency")
    }
    checked = 0
    for order_id, detail in drug_orders.items():
        row = orders[order_id]
        if row["order_action"] == "DISCONTINUE":  # fhir2 serves none: it stops another order
            assert row["uuid"] not in found and row["uuid"] not in gone
            continue
        if voided(row):
            assert gone[row["uuid"]].resource_type == "MedicationRequest"
            continue
        res = found[row["uuid"]]
        checked += 1
        assert res["subject"]["reference"] == f"Patient/{patients[int(row['patient_id'])]}"
        drug = drugs[int(detail["drug_inventory_id"])]
        assert res["medicationReference"]["reference"] == f"Medication/{drug['uuid']}"
        assert res["medicationReference"]["display"] == drug["name"]
        assert res["authoredOn"] == iso(row["date_created"])
        dosage = res["dosageInstruction"][0]
        if detail.get("dose"):
            assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == float(detail["dose"])
            assert dosage["route"]["coding"][0]["code"] == concepts[int(detail["route"])]
            assert (
                dosage["timing"]["code"]["coding"][0]["code"]
                == (frequencies[int(detail["frequency"])])
            )
        if row.get("previous_order_id"):
            previous = orders[row["previous_order_id"]]["uuid"]
            assert res["priorPrescription"]["reference"] == f"MedicationRequest/{previous}"
        if row.get("fulfiller_status"):
            assert res["extension"][0]["valueCode"] == row["fulfiller_status"]
    assert checked >= 8
    # statuses on 2024-01-01, read off the rows by hand (fhir2's MedicationRequest rules)
    status = {
        "e1f95924-697a-11e3-bd76-0800271c1b75": "active",  # 111: the REVISE of order 1
        "dfca4077-493c-496b-8312-856ee5d1cc26": "cancelled",  # 2: discontinued by order 22
        "2662e6c2-697b-11e3-bd76-0800271c1b75": "active",  # 222: never stopped
        "6d0ae116-707a-4629-9850-f15206e63ab0": "cancelled",  # 1005: stopped 2018-08-15
    }
    assert {u: found[u]["status"] for u in status} == status


def test_test_orders_match_the_dataset_rows(datasets, openmrs):
    db = datasets.db(SERVICE)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:test_order")
    assert failures == []
    orders = merged(datasets, "orders", "order_id", STANDARD, SERVICE)
    tests = merged(datasets, "test_order", "order_id", STANDARD, SERVICE)
    concepts = uuids(openmrs, db, "concept", "concept_id")
    encounters = uuids(openmrs, db, "encounter", "encounter_id")
    providers = uuids(openmrs, db, "provider", "provider_id")
    assert len(found) + len(gone) == len(tests) == 6
    for order_id in tests:
        row = orders[order_id]
        if voided(row):
            assert gone[row["uuid"]].resource_type == "ServiceRequest"
            continue
        res = found[row["uuid"]]
        assert res["code"]["coding"][0]["code"] == concepts[int(row["concept_id"])]
        assert res["encounter"]["reference"] == f"Encounter/{encounters[int(row['encounter_id'])]}"
        assert res["requester"]["reference"] == f"Practitioner/{providers[int(row['orderer'])]}"
        assert res["occurrencePeriod"]["start"] == iso(row["date_activated"])
    assert orders["102"]["uuid"] not in found  # an order of a custom type, no test_order row
    status = {
        "1c96f25c-4949-4f72-9931-d808fbc226de": "completed",  # 6: expired 2008-09-26
        "2c96f25c-4949-4f72-9931-d808fbc226df": "active",  # 7
        "4c96f25c-4949-4f72-9931-d808fbc226dh": "completed",  # 9: stopped 2007-12-17
    }
    assert {u: found[u]["status"] for u in status} == status


def test_dispenses_match_the_dataset_rows(datasets, openmrs):
    db = datasets.db(*DISPENSE)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:dispense")
    assert failures == []
    rows = datasets.rows(DISPENSE[0], "medication_dispense")
    terms = {
        t["concept_reference_term_id"]: t["code"]
        for t in datasets.rows(DISPENSE[0], "concept_reference_term")
    }
    status_code = {
        m["concept_id"]: terms[m["concept_reference_term_id"]]
        for m in datasets.rows(DISPENSE[0], "concept_reference_map")
    }
    orders = uuids(openmrs, db, "orders", "order_id")
    drugs = uuids(openmrs, db, "drug", "drug_id")
    providers = uuids(openmrs, db, "provider", "provider_id")
    locations = uuids(openmrs, db, "location", "location_id")
    assert len(found) + len(gone) == len(rows) > 0
    for row in rows:
        if voided(row):
            assert gone[row["uuid"]].resource_type == "MedicationDispense"
            continue
        res = found[row["uuid"]]
        assert res["status"] == status_code[row["status"]]
        if row.get("drug_order_id"):
            assert res["authorizingPrescription"][0]["reference"] == (
                f"MedicationRequest/{orders[int(row['drug_order_id'])]}"
            )
        else:
            assert "authorizingPrescription" not in res
        if row.get("drug_id"):
            assert res["medicationReference"]["reference"] == (
                f"Medication/{drugs[int(row['drug_id'])]}"
            )
        if row.get("dispenser"):
            assert res["performer"][0]["actor"]["reference"] == (
                f"Practitioner/{providers[int(row['dispenser'])]}"
            )
        if row.get("location_id"):
            assert res["location"]["reference"] == f"Location/{locations[int(row['location_id'])]}"
        assert res.get("whenHandedOver") == iso(row.get("date_handed_over"))
        if row.get("quantity"):
            assert res["quantity"]["value"] == float(row["quantity"])


def test_19_drug_orders_keep_free_text_units_and_frequency(datasets, openmrs):
    name = "core_OrderServiceTest-drugOrdersList.xml"
    db = datasets.db(name, legacy_19=True)
    found, gone, failures = drain(source(openmrs.dsn(db)), prefix="mysql:drug_order")
    assert failures == [] and gone == {}
    details = {r["order_id"]: r for r in datasets.rows(name, "drug_order")}
    drugs = uuids(openmrs, db, "drug", "drug_id")
    rows = datasets.rows(name, "orders")
    assert sorted(found) == sorted(r["uuid"] for r in rows)
    for row in rows:
        res, detail = found[row["uuid"]], details[row["order_id"]]
        dose = res["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
        assert (dose["value"], dose["unit"]) == (float(detail["dose"]), detail["units"])
        assert res["dosageInstruction"][0]["timing"]["code"]["text"] == detail["frequency"]
        assert res["medicationReference"]["reference"] == (
            f"Medication/{drugs[int(detail['drug_inventory_id'])]}"
        )
        assert res["dispenseRequest"]["validityPeriod"]["start"] == iso(row["start_date"])
        assert res["status"] == "active"  # started 2012, never discontinued
