"""The contract the engine codes against: exports, errors, context, document bookkeeping."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mappers
from mappers import (
    EncounterInfo,
    MappingContext,
    MappingError,
    PatientDoc,
    RecordDoc,
    map_resource,
    normalise_national_id,
)

REPO = Path(__file__).resolve().parents[2]
CTX = MappingContext(source="central", hospital="Central Hospital")


def test_exports_are_sorted_and_present() -> None:
    # isort style (ruff RUF022): CONSTANTS, then Classes, then functions.
    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert mappers.__all__ == sorted(mappers.__all__, key=key)
    for name in mappers.__all__:
        assert hasattr(mappers, name), name


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        ("not a dict", "not a JSON object"),
        (["Patient"], "not a JSON object"),
        ({"id": "x"}, "no resourceType"),
        ({"resourceType": "Patient"}, "Patient has no id"),
        ({"resourceType": "Patient", "id": "  "}, "Patient has no id"),
        ({"resourceType": "Medication", "id": "m1"}, "Medication/m1: unsupported"),
        ({"resourceType": "Bundle", "id": "b1"}, "Bundle/b1: unsupported"),
    ],
    ids=["str", "list", "no-type", "no-id", "blank-id", "unsupported", "bundle"],
)
def test_mapping_error_for_what_cannot_be_understood(resource: Any, fragment: str) -> None:
    with pytest.raises(MappingError, match=fragment):
        map_resource(resource, CTX)
    assert issubclass(MappingError, ValueError)


def test_mapping_error_message_carries_no_patient_data() -> None:
    secret = {"resourceType": "Patient", "name": [{"family": "Sadjad"}]}
    with pytest.raises(MappingError) as info:
        map_resource(secret, CTX)
    assert "Sadjad" not in str(info.value)


def test_bookkeeping_fields() -> None:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"versionId": "1719312976000", "lastUpdated": "2024-06-25T10:56:16.000+00:00"},
        "identifier": [{"type": {"text": "National ID"}, "value": "nid-12 34"}],
    }
    doc = map_resource(resource, CTX)
    assert isinstance(doc, PatientDoc)
    assert (doc.source, doc.uuid, doc.national_id) == ("central", "p1", "NID1234")
    assert doc.version == "1719312976000"
    assert doc.last_updated == "2024-06-25T10:56:16.000+00:00"
    # the canonical form written out by hand: sorted keys, no spaces, meta's volatile keys gone
    written = (
        b'{"id":"p1","identifier":[{"type":{"text":"National ID"},"value":"nid-12 34"}],'
        b'"resourceType":"Patient"}'
    )
    assert doc.content_hash == hashlib.sha256(written).hexdigest()
    rerendered = {**resource, "meta": {"versionId": "2", "lastUpdated": "2025-01-01"}}
    assert map_resource(rerendered, CTX).content_hash == doc.content_hash  # type: ignore[union-attr]
    changed = {**resource, "gender": "female"}
    assert map_resource(changed, CTX).content_hash != doc.content_hash  # type: ignore[union-attr]
    assert doc.raw is resource
    assert doc.warnings == []


def test_observation_borrows_doctor_and_facility_from_its_encounter() -> None:
    ctx = MappingContext(
        source="central",
        hospital="Central Hospital",
        encounters={"e1": EncounterInfo(doctor="Dr. Alice Smith", facility="Ward A")},
    )
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "code": {"text": "CD4 COUNT"},
        "encounter": {"reference": "Encounter/e1"},
        "valueQuantity": {"value": 350.0, "unit": "cells/uL"},
    }
    doc = map_resource(obs, ctx)
    assert isinstance(doc, RecordDoc)
    assert (doc.doctor, doc.facility, doc.hospital) == (
        "Dr. Alice Smith",
        "Ward A",
        "Central Hospital",
    )
    unknown = map_resource({**obs, "encounter": {"reference": "Encounter/e2"}}, ctx)
    assert isinstance(unknown, RecordDoc)
    assert (unknown.doctor, unknown.facility) == (None, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" nid-1234 5678 ", "NID12345678"),
        ("1199.8800-7", "119988007"),
        ("ab\tc", "ABC"),
        ("", ""),
    ],
)
def test_normalise_national_id(raw: str, expected: str) -> None:
    assert normalise_national_id(raw) == expected


def test_config_concepts_toml_equals_packaged_default() -> None:
    with open(REPO / "config" / "concepts.toml", "rb") as fh:
        assert tomllib.load(fh) == mappers.DEFAULT_RULES


def test_load_concept_rules_override(tmp_path: Path) -> None:
    path = tmp_path / "concepts.toml"
    path.write_text('[[keywords]]\ntype = "condition"\nwords = ["MALARIA"]\n')
    rules = mappers.load_concept_rules(path)
    assert mappers.categorise("Malaria smear", rules=rules) == "condition"
    assert mappers.categorise("Malaria smear") == "other"


@pytest.mark.parametrize(
    "text",
    [
        '[classes]\nDrug = "pill"\n',
        '[codes]\nvital = ["5089"]\n',
        "[classes\n",
    ],
    ids=["bad-type", "code-without-system", "bad-toml"],
)
def test_bad_rules_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "concepts.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match="concept rules"):
        mappers.load_concept_rules(path)
