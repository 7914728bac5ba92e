"""The MySQL source against a real MariaDB loaded with OpenMRS's own DBUnit fixtures."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pymysql
import pytest

from sync2._errors import ConfigError, SourceAuthError, TransientSourceError
from sync2.config import SourceConfig
from sync2.sources.mysql import MySQLSource

pytestmark = pytest.mark.mysql

WEIGHT_OBS = "2f616900-5e7c-4667-9a7f-dcb260abf1de"  # obs 10, concept 5089, 55 kg
PATIENT_7 = "5946f880-b197-400b-9caa-a3c661d23041"


def source(dsn: str, **kw: Any) -> MySQLSource:
    ro = kw.pop("require_read_only", False)
    cfg = SourceConfig(
        id="h1", name="Hospital 1", kind="openmrs-mysql", dsn=dsn, require_read_only=ro
    )
    return MySQLSource(cfg, today=date(2024, 1, 1), **kw)


def drain(src: MySQLSource, cursors: dict[str, Any]) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """Run every batch, committing cursors as the engine would; returns resources by id."""
    found: dict[str, Any] = {}
    gone: list[Any] = []
    failures: list[Any] = []
    for batch in src.batches(cursors):
        for res in batch.resources:
            found[res["id"]] = res
        gone.extend(batch.gone)
        failures.extend(batch.failures)
        cursors[batch.stream] = batch.cursor
    return found, gone, failures


def rw(openmrs: Any, db: str) -> pymysql.connections.Connection[Any]:
    return pymysql.connect(
        host="127.0.0.1",
        port=openmrs.port,
        user="sync_rw",
        password="rw-secret-pw",
        database=db,
        autocommit=False,
    )


def test_fixture_database_names_codes_units(openmrs):
    src = source(openmrs.dsn("omrs"))
    found, gone, failures = drain(src, {})
    assert failures == []
    weight = found[WEIGHT_OBS]
    assert weight["code"]["coding"][0] == {
        "code": "5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "display": "Weight",
    }
    systems = {c.get("system"): c["code"] for c in weight["code"]["coding"][1:]}
    assert systems == {
        "https://openconceptlab.org/orgs/CIEL/sources/CIEL": "5089",
        "http://snomed.info/sct": "2332523",
    }
    assert weight["valueQuantity"] == {"value": 55, "unit": "kg"}
    assert weight["subject"]["reference"] == f"Patient/{PATIENT_7}"
    systolic = next(
        r for r in found.values() if r.get("code", {}).get("text") == "Systolic blood pressure"
    )
    assert {"system": "http://loinc.org", "code": "8480-6"} in systolic["code"]["coding"]
    assert systolic["interpretation"][0]["coding"][0]["code"] == "N"
    assert found["b6521c32-47b6-47da-9c6f-3673ddfb74f9"]["valueBoolean"] is True
    coded = found["1ce473c8-3fac-440d-9f92-e10facab194f"]["valueCodeableConcept"]
    assert coded["text"] == "UNKNOWN"
    assert found["be48cdcb-6a76-47e3-9f2e-2635032f3a9a"]["status"] == "preliminary"
    patient = found[PATIENT_7]
    assert patient["name"][0]["given"] == ["Collet", "Test"]
    assert patient["identifier"][0]["value"] == "6TS-4"
    assert patient["identifier"][0]["type"]["text"] == "OpenMRS Identification Number"
    assert patient["birthDate"] == "1976" and patient["gender"] == "female"
    enc = found["6519d653-393b-4118-9c83-a3715b82d4ac"]
    assert enc["participant"][0]["individual"]["reference"] == (
        "Practitioner/c2299800-cca9-11e0-9572-0800200c9a66"
    )
    assert enc["participant"][0]["individual"]["display"] == "Super User"
    assert enc["partOf"]["reference"] == "Encounter/a2428fea-6b78-11e0-93c3-18a905e044dc"
    assert found["c2299800-cca9-11e0-9572-0800200c9a66"]["identifier"][0]["value"] == "Test"
    voided_patients = {g.uuid for g in gone if g.resource_type == "Patient"}
    assert "86526ed6-3c11-11de-a0ba-001e378eb67e" in voided_patients
    assert "86526ed6-3c11-11de-a0ba-001e378eb67e" not in found
    src.close()


def test_second_pass_from_cursors_delivers_nothing_new(openmrs):
    src = source(openmrs.dsn("omrs"))
    cursors: dict[str, Any] = {}
    first, _, _ = drain(src, cursors)
    again, gone, _ = drain(src, cursors)
    assert first and again == {} and gone == []
    src.close()


def test_legacy_1_8_schema(openmrs):
    src = source(openmrs.dsn("omrs18"))
    found, _, failures = drain(src, {})
    assert failures == []
    enc = found["6519d653-393b-4118-9c83-a3715b82d4ac"]
    ref = enc["participant"][0]["individual"]["reference"]
    assert ref == "Practitioner/prov19c2-3ed6-4f63-b8c0-f762dc8d7562"  # what 1.9 would migrate
    assert ref.split("/")[1] in found
    weight = next(r for r in found.values() if r["id"] == "39fb7f47-e80a-4056-9285-bd798be13c63")
    assert {"system": "http://snomed.info/sct", "code": "2332523"} in weight["code"]["coding"]
    assert weight["code"]["text"] == "WEIGHT (KG)"
    src.close()


def test_out_of_order_commits_lose_nothing(openmrs, fresh_db):
    src = source(openmrs.dsn(fresh_db))
    cursors: dict[str, Any] = {}
    drain(src, cursors)
    slow, fast = rw(openmrs, fresh_db), rw(openmrs, fresh_db)
    insert = (
        "INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, value_numeric, "
        "creator, date_created, uuid) VALUES (7, 5089, 4, NOW(), %s, 1, NOW(), %s)"
    )
    with slow.cursor() as cur:  # takes the lower obs_id, commits last
        cur.execute(insert, [60.0, "late-0000-obs"])
    with fast.cursor() as cur:
        cur.execute(insert, [61.0, "early-000-obs"])
    fast.commit()
    seen, _, _ = drain(src, cursors)
    assert "early-000-obs" in seen and "late-0000-obs" not in seen
    slow.commit()
    with fast.cursor() as cur:  # a sync tool writing an explicit, older id
        cur.execute(
            insert.replace("(person_id", "(obs_id, person_id").replace("VALUES (", "VALUES (50, "),
            [62.0, "explicit-id-obs"],
        )
    fast.commit()
    later, _, _ = drain(src, cursors)
    assert {"late-0000-obs", "explicit-id-obs"} <= set(later)
    assert "early-000-obs" not in later  # the boundary kept it from coming twice
    slow.close(), fast.close(), src.close()


def test_edit_supersedes_and_void_is_entered_in_error(openmrs, fresh_db):
    src = source(openmrs.dsn(fresh_db))
    cursors: dict[str, Any] = {}
    drain(src, cursors)
    conn = rw(openmrs, fresh_db)
    with conn.cursor() as cur:  # what ObsServiceImpl.saveExistingObs does
        cur.execute(
            "INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, value_numeric, "
            "creator, date_created, uuid, previous_version, status) "
            "SELECT person_id, concept_id, encounter_id, obs_datetime, 56.0, 1, NOW(), "
            "'edited-weight', obs_id, 'AMENDED' FROM obs WHERE obs_id = 10"
        )
        cur.execute("UPDATE obs SET voided = 1, date_voided = NOW() WHERE obs_id IN (10, 11)")
    conn.commit()
    found, gone, _ = drain(src, cursors)
    assert found["edited-weight"]["status"] == "amended"
    assert found["edited-weight"]["valueQuantity"]["value"] == 56
    by_uuid = {g.uuid: g for g in gone}
    assert by_uuid[WEIGHT_OBS].replaced_by == "edited-weight"
    plain = by_uuid["f6ec1267-8eac-415f-a3f0-e47be2c8bb67"]  # obs 11, voided without an edit
    assert plain.replaced_by is None and plain.reason == "voided"
    conn.close(), src.close()


def test_revision_obs_fixture_links_edits(openmrs):
    src = source(openmrs.dsn("omrs_rev"))
    _, gone, _ = drain(src, {})
    replaced = {g.uuid: g.replaced_by for g in gone if g.resource_type == "Observation"}
    assert replaced["uuid14"] == "uuid17" and replaced["uuid15"] == "uuid18"
    assert replaced["uuid17"] is None  # voided with nothing after it
    src.close()


def test_read_only_check(openmrs, caplog):
    ro = source(openmrs.dsn("omrs"), require_read_only=True)
    assert ro.fetch("Patient", [PATIENT_7]).found
    assert ro.write_privileges == []
    ro.close()
    strict = source(openmrs.dsn("omrs", user="sync_rw"), require_read_only=True)
    with pytest.raises(ConfigError, match="can write"):
        strict.fetch("Patient", [PATIENT_7])
    lax = source(openmrs.dsn("omrs", user="sync_rw"))
    with caplog.at_level(logging.WARNING):
        first = next(iter(lax.batches({})))
    assert "CAN WRITE" in caplog.text
    assert any("can write" in n for n in first.notes)
    lax.close()


def test_errors_are_translated_without_the_password(openmrs):
    bad = source(openmrs.dsn("omrs").replace("ro-secret-pw", "wrong-pw"))
    with pytest.raises(SourceAuthError) as auth:
        bad.fetch("Patient", [PATIENT_7])
    assert "wrong-pw" not in str(auth.value) and "127.0.0.1" in str(auth.value)
    closed = source("mysql://sync_ro:ro-secret-pw@127.0.0.1:1/omrs")
    with pytest.raises(TransientSourceError) as down:
        closed.fetch("Patient", [PATIENT_7])
    assert "ro-secret-pw" not in str(down.value)
    with pytest.raises(ConfigError):
        source("postgres://u:p@h/db")


def test_fetch_history_and_find(openmrs):
    src = source(openmrs.dsn("omrs"))
    result = src.fetch("Observation", [WEIGHT_OBS, "no-such-uuid"])
    assert list(result.found) == [WEIGHT_OBS]
    assert [(g.uuid, g.reason) for g in result.gone] == [("no-such-uuid", "deleted")]
    history = list(src.patient_history(PATIENT_7))
    kinds = {r["resourceType"] for r in history}
    assert kinds == {"Patient", "Encounter", "Observation", "MedicationRequest"}
    # the standard dataset's drug orders of patient 7: order 1 and its revision 111
    orders = {r["id"] for r in history if r["resourceType"] == "MedicationRequest"}
    assert orders == {
        "921de0a3-05c4-444a-be03-e01b4c4b9142",
        "e1f95924-697a-11e3-bd76-0800271c1b75",
    }
    assert [p["id"] for p in src.find_patients("6TS-4")] == [PATIENT_7]
    src.close()
