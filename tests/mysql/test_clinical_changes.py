"""Edits, voids, resolves, revisions and discontinues of the clinical tables reach the next
pass, and only they; absent tables mean a hospital that keeps none of that kind."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sync2.config import SourceConfig
from sync2.sources.mysql import MySQLSource
from tests.mysql.clinical import drain, source
from tests.mysql.conftest import clone

pytestmark = pytest.mark.mysql

ALLERGIES = "fhir2_FhirAllergyIntoleranceDaoImplTest_initial_data.xml"
CONDITIONS = "fhir2_FhirConditionDaoImplTest_initial_data.xml"
PEANUT = "1085AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # allergy 1010: FOOD, severity 5090 (mild)
DRUG_ALLERGY = "1081AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # allergy 1011
ACTIVE_CONDITION = "2cc6880e-2c46-11e4-9138-a6c5e4d20fb7"  # condition 2: ACTIVE
CODED_CONDITION = "db6f11a3-c52d-4e3c-bd0c-0a1d7df7d33c"  # condition 8: 5497, ACTIVE
ORDER_222 = "2662e6c2-697b-11e3-bd76-0800271c1b75"  # drug order 222, active
ORDER_444 = "9c21e407-697b-11e3-bd76-0800271c1b75"  # drug order 444, active


def live_source(dsn: str) -> MySQLSource:
    """A source on the real clock: the edits below happen now, and stop orders now."""
    cfg = SourceConfig(id="h1", name="Hospital 1", kind="openmrs-mysql", dsn=dsn)
    return MySQLSource(cfg, today=date(2024, 1, 1))


def _hospital_edits(cur: Any) -> None:
    """What clinicians do in OpenMRS 2.x, written the way its services write it."""
    cur.execute(
        f"UPDATE allergy SET voided = 1, voided_by = 1, date_voided = NOW(), "
        f"void_reason = 'entered in error' WHERE uuid = '{DRUG_ALLERGY}'"
    )
    cur.execute(
        "UPDATE allergy SET severity_concept_id = 5092, date_changed = NOW(), "
        f"changed_by = 1 WHERE uuid = '{PEANUT}'"
    )  # mild -> severe
    cur.execute(
        "UPDATE conditions SET clinical_status = 'RESOLVED', end_date = NOW(), "
        f"date_changed = NOW() WHERE uuid = '{ACTIVE_CONDITION}'"
    )
    # a condition edit voids the row and writes a new one pointing back at it
    cur.execute(
        f"UPDATE conditions SET voided = 1, date_voided = NOW() WHERE uuid = '{CODED_CONDITION}'"
    )
    cur.execute(
        "INSERT INTO conditions (previous_version, condition_coded, clinical_status, "
        "verification_status, onset_date, date_created, voided, uuid, creator, patient_id) "
        "SELECT condition_id, 5089, 'ACTIVE', 'CONFIRMED', onset_date, NOW(), 0, "
        "'e0000000-0000-4000-8000-000000000001', 1, patient_id FROM conditions "
        f"WHERE uuid = '{CODED_CONDITION}'"
    )
    # discontinue 222: a DISCONTINUE order, and the stop of the order it discontinues
    cur.execute(
        "INSERT INTO orders (order_type_id, concept_id, orderer, encounter_id, date_activated, "
        "creator, date_created, patient_id, uuid, urgency, order_number, previous_order_id, "
        "order_action, care_setting) SELECT order_type_id, concept_id, orderer, encounter_id, "
        "NOW(), 1, NOW(), patient_id, 'd0000000-0000-4000-8000-000000000222', 'ROUTINE', "
        "'ORD-D222', order_id, 'DISCONTINUE', care_setting FROM orders WHERE order_id = 222"
    )
    cur.execute("UPDATE orders SET date_stopped = NOW() - INTERVAL 1 SECOND WHERE order_id = 222")
    # revise 444: a REVISE order with a new dose, and the stop of the revised one
    cur.execute(
        "INSERT INTO orders (order_type_id, concept_id, orderer, encounter_id, date_activated, "
        "creator, date_created, patient_id, uuid, urgency, order_number, previous_order_id, "
        "order_action, care_setting) SELECT order_type_id, concept_id, orderer, encounter_id, "
        "NOW(), 1, NOW(), patient_id, 'a0000000-0000-4000-8000-000000000444', 'ROUTINE', "
        "'ORD-R444', order_id, 'REVISE', care_setting FROM orders WHERE order_id = 444"
    )
    cur.execute(
        "INSERT INTO drug_order (order_id, drug_inventory_id, dose, dose_units, route, "
        "frequency, dosing_type, as_needed) SELECT LAST_INSERT_ID(), drug_inventory_id, 650, "
        "dose_units, route, frequency, dosing_type, as_needed FROM drug_order WHERE order_id = 444"
    )
    cur.execute("UPDATE orders SET date_stopped = NOW() - INTERVAL 1 SECOND WHERE order_id = 444")


def test_edits_voids_resolves_revisions_and_discontinues_propagate(datasets, openmrs):
    base = datasets.db(ALLERGIES, CONDITIONS)
    db = f"{base}_edits"
    conn = openmrs.root()
    clone(conn, base, db)
    src = live_source(openmrs.dsn(db))
    cursors: dict[str, Any] = {}
    first, _, failures = drain(src, cursors)
    assert failures == []
    assert first[ORDER_222]["status"] == first[ORDER_444]["status"] == "active"
    with conn.cursor() as cur:
        cur.execute(f"USE `{db}`")
        _hospital_edits(cur)
    conn.close()
    found, gone, failures = drain(src, cursors)
    assert failures == []
    assert {u: g.resource_type for u, g in gone.items()} == {
        DRUG_ALLERGY: "AllergyIntolerance",
        CODED_CONDITION: "Condition",
    }
    assert gone[CODED_CONDITION].replaced_by == "e0000000-0000-4000-8000-000000000001"
    revision = "a0000000-0000-4000-8000-000000000444"
    assert set(found) == {
        PEANUT,
        ACTIVE_CONDITION,
        "e0000000-0000-4000-8000-000000000001",
        ORDER_222,
        ORDER_444,
        revision,
    }
    assert found[PEANUT]["criticality"] == "high"
    assert found[PEANUT]["meta"]["versionId"] != first[PEANUT]["meta"]["versionId"]
    resolved = found[ACTIVE_CONDITION]
    assert resolved["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert "abatementDateTime" in resolved
    assert found[ORDER_222]["status"] == "cancelled"  # discontinued
    assert found[ORDER_444]["status"] == "cancelled"  # revised: the revision replaces it
    assert found[revision]["priorPrescription"]["reference"] == f"MedicationRequest/{ORDER_444}"
    assert found[revision]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 650
    assert found[revision]["status"] == "active"
    again, gone_again, _ = drain(src, cursors)
    assert (again, gone_again) == ({}, {})  # cursors held: nothing delivered twice
    src.close()


def test_absent_tables_mean_none_and_19_tables_are_chosen(datasets, openmrs):
    base = datasets.db()
    db = f"{base}_bare"
    conn = openmrs.root()
    clone(conn, base, db)
    with conn.cursor() as cur:
        cur.execute(
            f"DROP TABLE `{db}`.allergy, `{db}`.conditions, `{db}`.encounter_diagnosis, "
            f"`{db}`.medication_dispense, `{db}`.test_order"
        )
    conn.close()
    bare = source(openmrs.dsn(db))
    found, _, failures = drain(bare)
    assert failures == []
    kinds = {r["resourceType"] for r in found.values()}
    assert (
        kinds & {"AllergyIntolerance", "Condition", "ServiceRequest", "MedicationDispense"} == set()
    )
    assert "MedicationRequest" in kinds  # the orders and drug_order tables are still there
    legacy = source(openmrs.dsn(datasets.db("core_ActiveListTest.xml", legacy_19=True)))
    streams = {b.stream for b in legacy.batches({})}
    assert {"mysql:allergy", "mysql:condition"} <= streams
    assert not streams & {"mysql:diagnosis", "mysql:test_order", "mysql:dispense"}
    bare.close()
    legacy.close()
