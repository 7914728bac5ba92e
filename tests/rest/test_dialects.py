"""Feed dialects: Sync 2.0 entries and classic (Bahmni-style) entries, told apart per entry.

Expected uuids and types are read off the real feed pages by hand (see the fixtures' README).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sync2._errors import BadFeedError
from sync2.sources.atomfeed import CHANGED, FeedEntry, parse_page, read_entry

U = "42034a79-48bc-47d0-a255-139031665581"
ALLERGY = "0c3b7f1a-41d5-4b7b-9d3a-8f2c5a2e9e11"
PAGE = "http://h/openmrs/ws/atomfeed/patient/1"


def _events(fixtures_dir: Path, name: str) -> list[tuple[str, str, str, str]]:
    page = parse_page((fixtures_dir / "feeds" / name).read_bytes(), PAGE)
    events = [read_entry(e, page.via_url or page.url) for e in page.entries]
    return [(e.dialect, e.action, e.resource_type, e.uuid) for e in events]


def test_motech_page_36_reads_five_classic_patient_changes(fixtures_dir: Path) -> None:
    got = _events(fixtures_dir, "motech_atomclient_patient-feed-page36.xml")
    uuids = [
        "1f45f9b9-301b-42fd-8a98-9bd3115cd558",
        "51da1b49-c833-46e5-8f08-f88df0d16270",
        "8a9633e5-d23f-492e-9178-bb76f170f118",
        "8a9633e5-d23f-492e-9178-bb76f170f118",
        "8a9633e5-d23f-492e-9178-bb76f170f118",
    ]
    assert got == [("classic", CHANGED, "Patient", u) for u in uuids]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "motech_atomclient_patient-feed-page37.xml",
            ("Patient", "8a9633e5-d23f-492e-9178-bb76f170f118"),
        ),
        ("motech_openmrs_atom-feed-data.xml", ("Patient", "aca97062-35c5-4a23-baf8-56e6eec71111")),
        ("opensrp_patient-feed-page1_oneline.xml", ("Patient", U)),
        # capital "Encounter", a Bahmni encounter path, and a malformed <updated>
        (
            "opensrp_encounter-feed-bahmniencounter_oneline.xml",
            ("Encounter", "f9ee3f7a-0e7d-4757-b8af-748fdceeedcd"),
        ),
    ],
)
def test_every_real_classic_page_is_read(
    fixtures_dir: Path, name: str, expected: tuple[str, str]
) -> None:
    got = _events(fixtures_dir, name)
    assert [(rtype, uuid) for _d, _a, rtype, uuid in got] == [expected]
    assert {(d, a) for d, a, _r, _u in got} == {("classic", CHANGED)}


@pytest.mark.parametrize(
    ("path", "rtype"),
    [
        (f"/openmrs/ws/rest/v1/person/{U}?v=full", "Patient"),
        (f"/openmrs/ws/rest/v1/visit/{U}?v=full", "Encounter"),
        (f"/openmrs/ws/rest/v1/obs/{U}", "Observation"),
        (f"/openmrs/ws/rest/v1/provider/{U}?v=full", "Practitioner"),
        (f"/openmrs/ws/rest/v1/location/{U}", "Location"),
        (f"/openmrs/ws/rest/v1/patient/{U}/allergy/{ALLERGY}", "AllergyIntolerance"),
        (f"/openmrs/ws/rest/v1/drugorder/{U}?v=full", "MedicationRequest"),
    ],
)
def test_classic_rest_paths_name_type_and_uuid(path: str, rtype: str) -> None:
    event = read_entry(FeedEntry("tag:1", "t", "", ["anything"], path), PAGE)
    assert event.resource_type == rtype
    assert event.uuid == (ALLERGY if "allergy" in path else U)


def test_sync2_entries_keep_their_action_and_dialect() -> None:
    content = f'{{"rest":"/ws/rest/v1/obs/{U}?v=full","fhir":"/ws/fhir2/R4/Observation/{U}"}}'
    event = read_entry(FeedEntry("tag:1", "t", "", ["VOIDED", "observation"], content), PAGE)
    assert (event.dialect, event.action, event.resource_type) == ("sync2", "VOIDED", "Observation")


@pytest.mark.parametrize(
    ("categories", "content", "why"),
    [
        (["patient"], f'{{"fhir":"/ws/fhir2/R4/Patient/{U}"}}', "not a REST path"),
        (["patient"], f"/openmrs/ws/rest/v1/concept/{U}", "'concept' is not one sync2 reads"),
        (["patient"], "/openmrs/ws/rest/v1/patient/search?q=x", "names no uuid"),
        ([], f"/openmrs/ws/rest/v1/patient/{U}", "name no category"),
        (["patient"], "patient changed", "neither JSON nor a path"),
    ],
)
def test_an_entry_fitting_no_dialect_says_why(
    categories: list[str], content: str, why: str
) -> None:
    with pytest.raises(BadFeedError, match=why) as info:
        read_entry(FeedEntry("tag:bad", "t", "", categories, content), PAGE)
    assert "tag:bad" in str(info.value) and PAGE in str(info.value)


@pytest.mark.parametrize(
    ("category", "path", "expected"),
    [
        ("condition", f"/openmrs/ws/rest/v1/condition/{U}?v=full", "Condition"),
        ("diagnosis", f"/openmrs/ws/rest/v1/patientdiagnoses/{U}?v=full", "Condition"),
        ("dispense", f"/openmrs/ws/rest/v1/medicationdispense/{U}", "MedicationDispense"),
        ("drug_order", f"/openmrs/ws/rest/v1/order/{U}?v=full", "MedicationRequest"),
        ("test_order", f"/openmrs/ws/rest/v1/order/{U}?v=full", "ServiceRequest"),
        ("order", f"/openmrs/ws/rest/v1/testorder/{U}", "ServiceRequest"),
    ],
)
def test_classic_history_entries_name_their_type(category: str, path: str, expected: str) -> None:
    """A plain ``order/{uuid}`` is a drug order unless the test-order feed published it: a
    void read as the wrong type would never reach the stored ServiceRequest."""
    event = read_entry(FeedEntry("tag:h", "T", "", [category], path), PAGE)
    assert (event.dialect, event.resource_type, event.uuid) == ("classic", expected, U)
