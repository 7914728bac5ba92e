"""A record pulled from another passport names its first hospital, not that passport."""

from __future__ import annotations

from mappers import MappingContext, RecordDoc, map_resource

CTX = MappingContext(source="district", hospital="District passport")
TAG = {"system": "urn:sync2:hospital", "code": "central", "display": "Central Hospital"}


def _map(resource: dict[str, object]) -> RecordDoc:
    doc = map_resource(resource, CTX)
    assert isinstance(doc, RecordDoc)
    return doc


def test_a_tagged_record_keeps_its_first_hospital() -> None:
    obs = {"resourceType": "Observation", "id": "o1", "code": {"text": "Weight (kg)"},
           "valueQuantity": {"value": 70, "unit": "kg"}, "meta": {"tag": [TAG]}}  # fmt: skip
    assert _map(obs).hospital == "Central Hospital"


def test_a_visit_names_its_first_hospital_in_its_portal_block_too() -> None:
    visit = {"resourceType": "Encounter", "id": "v1", "status": "unknown",
             "meta": {"tag": [{"system": "urn:sync2:hospital", "code": "central"}]}}  # fmt: skip
    doc = _map(visit)
    assert (doc.hospital, doc.data["hospital"]) == ("central", "central")


def test_a_record_straight_from_a_hospital_names_the_source() -> None:
    obs = {"resourceType": "Observation", "id": "o2", "code": {"text": "Weight (kg)"},
           "meta": {"tag": [{"system": "urn:other", "display": "Elsewhere"}]}}  # fmt: skip
    assert _map(obs).hospital == "District passport"
