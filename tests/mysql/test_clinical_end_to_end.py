"""The clinical types end to end over MySQL (2.x and 1.9 schemas) into the SQLite passport:
the passport holds what the database holds, edits propagate, a re-sync writes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sync2.admin.passport_summary import current_medications
from sync2.config import Config, SourceConfig
from sync2.pipeline import Pipeline
from sync2.sources.mysql import MySQLSource
from sync2.store.sqlite import SQLiteStore
from tests.mysql.clinical import truth
from tests.mysql.conftest import clone

pytestmark = pytest.mark.mysql

DATASETS_2X = (
    "core_allergyTestDataset.xml",
    "fhir2_FhirConditionDaoImplTest_initial_data.xml",
    "fhir2_FhirDiagnosisDaoImplTest_initial_dataset.xml",
    "fhir2_FhirServiceRequestTest_initial_data.xml",
    "core_MedicationDispenseServiceTest-initialData.xml",
    "fhir2_FhirMedicationDispenseDaoImplTest_initial_data.xml",
)
DATASETS_19 = ("core_ActiveListTest.xml", "core_OrderServiceTest-drugOrdersList.xml")
ID_TYPES = ("OpenMRS Identification Number", "Old Identification Number")
CLINICAL = (
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "ServiceRequest",
    "MedicationDispense",
)
#: The database's clinical rows (live, for a live patient with a national ID): uuid -> the
#: passport record type the issue names for each table.
TRUTH_2X = (
    "SELECT uuid, patient_id, 'allergy' AS type FROM allergy WHERE voided = 0 "
    "UNION ALL SELECT uuid, patient_id, 'condition' FROM conditions WHERE voided = 0 "
    "UNION ALL SELECT uuid, patient_id, 'condition' FROM encounter_diagnosis WHERE voided = 0 "
    "UNION ALL SELECT o.uuid, o.patient_id, 'medication' FROM orders o JOIN drug_order d "
    "ON d.order_id = o.order_id WHERE o.voided = 0 AND o.order_action <> 'DISCONTINUE' "
    # a drug order revised by a live drug order is superseded by it (one current line)
    "AND NOT EXISTS (SELECT 1 FROM orders n JOIN drug_order nd ON nd.order_id = n.order_id "
    "WHERE n.previous_order_id = o.order_id AND n.voided = 0 AND n.order_action = 'REVISE') "
    "UNION ALL SELECT o.uuid, o.patient_id, 'test' FROM orders o JOIN test_order t "
    "ON t.order_id = o.order_id WHERE o.voided = 0 "
    "UNION ALL SELECT uuid, patient_id, 'medication' FROM medication_dispense WHERE voided = 0"
)
TRUTH_19 = (
    "SELECT x.uuid, x.person_id AS patient_id, 'allergy' AS type FROM active_list x "
    "JOIN active_list_allergy a ON a.active_list_id = x.active_list_id WHERE x.voided = 0 "
    "UNION ALL SELECT x.uuid, x.person_id, 'condition' FROM active_list x "
    "JOIN active_list_problem p ON p.active_list_id = x.active_list_id WHERE x.voided = 0 "
    "UNION ALL SELECT o.uuid, o.patient_id, 'medication' FROM orders o JOIN drug_order d "
    "ON d.order_id = o.order_id WHERE o.voided = 0"
)
PASSPORT_PATIENTS = (
    "SELECT p.patient_id FROM patient p JOIN person x ON x.person_id = p.patient_id "
    "WHERE p.voided = 0 AND x.voided = 0 AND EXISTS (SELECT 1 FROM patient_identifier i "
    "JOIN patient_identifier_type t ON t.patient_identifier_type_id = i.identifier_type "
    "WHERE i.patient_id = p.patient_id AND i.voided = 0 AND t.name IN %s)"
)


class Hospital:
    """A private copy of a dataset database, synced into a passport through the pipeline."""

    def __init__(self, openmrs: Any, db: str, passport: Path) -> None:
        self.openmrs, self.db, self.passport = openmrs, db, passport
        sc = SourceConfig(id="h1", name="Hospital 1", kind="openmrs-mysql", dsn=openmrs.dsn(db))
        self.config = Config(sources=[sc], matching={"identifier_types": list(ID_TYPES)})
        self.store = SQLiteStore(passport)
        self.source = MySQLSource(sc, today=date(2024, 1, 1))

    def sync(self) -> Any:
        summary = Pipeline(self.config, self.store, sources={"h1": self.source}).sync_source("h1")
        assert summary.ok, summary.error
        assert summary.failed == 0
        return summary

    def records(self) -> dict[str, dict[str, Any]]:
        # through the store's read API: the stored form of a record is compressed
        return {d["uuid"]: d for t in CLINICAL for d in self.store.find_records("h1", t)}

    def expected(self, sql: str) -> dict[str, str]:
        """uuid -> record type of the live clinical rows of the passport's patients."""
        patients = {
            r["patient_id"] for r in truth(self.openmrs, self.db, PASSPORT_PATIENTS, ID_TYPES)
        }
        return {
            r["uuid"]: r["type"]
            for r in truth(self.openmrs, self.db, sql)
            if r["patient_id"] in patients
        }

    def edit(self, *statements: str) -> None:
        conn = self.openmrs.root(self.db)
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
        conn.close()


def hospital(
    datasets: Any, openmrs: Any, tmp_path: Path, names: tuple[str, ...], legacy_19: bool = False
) -> Hospital:
    base = datasets.db(*names, legacy_19=legacy_19)
    db = f"{base}_e2e"
    conn = openmrs.root()
    clone(conn, base, db)
    conn.close()
    return Hospital(openmrs, db, tmp_path / "passport.db")


def live(records: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {u: r["type"] for u, r in records.items() if r["status"] == "final"}


VOIDED_ALLERGY = "21543629-7d8c-11e1-909d-c80aa9edcf4e"  # allergy 1, patient 2
EDITED_ALLERGY = "35543629-7d8c-11e1-909d-c80aa9edcf4e"  # allergy 2, patient 2: 5089
ACTIVE_CONDITION = "2cc6880e-2c46-11e4-9138-a6c5e4d20fb7"  # condition 2, patient 2
ORDER_222 = "2662e6c2-697b-11e3-bd76-0800271c1b75"  # drug order, patient 2, active
ORDER_444 = "9c21e407-697b-11e3-bd76-0800271c1b75"  # drug order, patient 2, active
REVISION = "a0000000-0000-4000-8000-000000000444"
NEW_ORDER = (
    "INSERT INTO orders (order_type_id, concept_id, orderer, encounter_id, date_activated, "
    "creator, date_created, patient_id, uuid, urgency, order_number, previous_order_id, "
    "order_action, care_setting) SELECT order_type_id, concept_id, orderer, encounter_id, "
    "NOW(), 1, NOW(), patient_id, '{uuid}', 'ROUTINE', '{number}', order_id, '{action}', "
    "care_setting FROM orders WHERE order_id = {previous}"
)


def test_2x_hospital_end_to_end(datasets, openmrs, tmp_path):
    h = hospital(datasets, openmrs, tmp_path, DATASETS_2X)
    h.sync()
    expected = h.expected(TRUTH_2X)
    assert set(expected.values()) == {"allergy", "condition", "medication", "test"}
    assert live(h.records()) == expected
    concept_88 = truth(openmrs, h.db, "SELECT uuid FROM concept WHERE concept_id = 88")[0]
    h.edit(
        "UPDATE allergy SET voided = 1, voided_by = 1, date_voided = NOW(), "
        f"void_reason = 'wrong patient' WHERE uuid = '{VOIDED_ALLERGY}'",
        "UPDATE allergy SET coded_allergen = 88, comments = 'hives within minutes', "
        f"date_changed = NOW(), changed_by = 1 WHERE uuid = '{EDITED_ALLERGY}'",
        "UPDATE conditions SET clinical_status = 'RESOLVED', end_date = NOW(), "
        f"date_changed = NOW() WHERE uuid = '{ACTIVE_CONDITION}'",
        NEW_ORDER.format(
            uuid="d0000000-0000-4000-8000-000000000222",
            number="ORD-D222",
            action="DISCONTINUE",
            previous=222,
        ),
        "UPDATE orders SET date_stopped = NOW() - INTERVAL 1 SECOND WHERE order_id = 222",
        NEW_ORDER.format(uuid=REVISION, number="ORD-R444", action="REVISE", previous=444),
        "INSERT INTO drug_order (order_id, drug_inventory_id, dose, dose_units, route, frequency, "
        "dosing_type, as_needed) SELECT LAST_INSERT_ID(), drug_inventory_id, 650, dose_units, "
        "route, frequency, dosing_type, as_needed FROM drug_order WHERE order_id = 444",
        "UPDATE orders SET date_stopped = NOW() - INTERVAL 1 SECOND WHERE order_id = 444",
    )
    h.sync()
    records = h.records()
    assert live(records) | {VOIDED_ALLERGY: "allergy"} == h.expected(TRUTH_2X) | {
        VOIDED_ALLERGY: "allergy"
    }
    # the revised order stays, superseded by its successor
    assert records[ORDER_444]["status"] == "superseded"
    assert records[ORDER_444]["superseded_by"] == REVISION
    assert records[VOIDED_ALLERGY]["status"] == "entered-in-error"
    assert records[EDITED_ALLERGY]["codes"][0]["code"] == concept_88["uuid"]
    condition = records[ACTIVE_CONDITION]["data"]
    assert condition["clinicalStatus"] == "resolved"
    assert records[ORDER_222]["data"]["status"] == "cancelled"
    assert records[REVISION]["supersedes"] == ORDER_444
    assert records[REVISION]["data"]["status"] == "active"
    # the passport's summary: one current line, the revision; the discontinued order is gone
    patient = records[REVISION]["patient_uuid"]
    newest_first = sorted(
        (r for r in records.values() if r["patient_uuid"] == patient),
        key=lambda r: r.get("effective") or "",
        reverse=True,
    )
    current = {m["uuid"] for m in current_medications(newest_first)}
    assert REVISION in current and not current & {ORDER_444, ORDER_222}
    assert h.sync().written == 0  # a re-sync writes nothing
    h.source.close()


def test_19_hospital_end_to_end(datasets, openmrs, tmp_path):
    h = hospital(datasets, openmrs, tmp_path, DATASETS_19, legacy_19=True)
    h.sync()
    expected = h.expected(TRUTH_19)
    assert sorted(expected.values()) == ["allergy", "condition", "medication", "medication"]
    assert live(h.records()) == expected
    allergy, problem = (r["uuid"] for r in datasets.rows(DATASETS_19[0], "active_list"))
    order_6 = datasets.rows(DATASETS_19[1], "orders")[0]["uuid"]
    h.edit(
        f"UPDATE active_list SET voided = 1, date_voided = NOW() WHERE uuid = '{allergy}'",
        f"UPDATE active_list SET end_date = NOW() WHERE uuid = '{problem}'",
        "UPDATE orders SET discontinued = 1, discontinued_date = NOW() - INTERVAL 1 SECOND, "
        f"discontinued_by = 1 WHERE uuid = '{order_6}'",
    )
    h.sync()
    records = h.records()
    assert records[allergy]["status"] == "entered-in-error"
    assert records[problem]["data"]["clinicalStatus"] == "resolved"
    assert records[order_6]["data"]["status"] == "cancelled"
    assert h.sync().written == 0
    h.source.close()


@pytest.mark.parametrize("legacy_19", [False, True], ids=["2x", "1.9"])
def test_synthetic_hospital_clinical_records_reach_the_passport(openmrs, tmp_path, legacy_19):
    from sync2.testing.mariadb import create_openmrs_schema
    from sync2.testing.openmrs_data import NATIONAL_ID_TYPE, HospitalPlan, write_hospital

    db = f"omrs_synth{int(legacy_19)}"
    conn = openmrs.root()
    create_openmrs_schema(conn, db, legacy_19=legacy_19)
    totals = write_hospital(conn, db, HospitalPlan(obs=500, seed=3)).clinical
    conn.close()
    h = Hospital(openmrs, db, tmp_path / "passport.db")
    h.config = Config(sources=h.config.sources, matching={"identifier_types": [NATIONAL_ID_TYPE]})
    h.sync()
    kinds: dict[str, int] = {}
    for record in h.records().values():
        if record["status"] == "final":
            kinds[record["type"]] = kinds.get(record["type"], 0) + 1
    expected = {
        "allergy": totals.allergies,
        "condition": totals.conditions,
        "medication": totals.medications,
        "test": totals.tests,
    }
    superseded = [
        r for r in h.records().values() if r["type"] == "medication" and r["status"] == "superseded"
    ]
    assert len(superseded) == totals.revised_orders
    assert kinds == {k: v for k, v in expected.items() if v}
    assert totals.allergies < totals.conditions  # some allergies were voided
    orders = [r for r in h.records().values() if r["type"] in ("medication", "test")]
    assert orders and all(r["doctor"] for r in orders)  # every order names its orderer
    assert h.sync().written == 0
    h.source.close()
