"""Pure row -> FHIR helpers: OpenMRS's concept-name choice, source systems, grants."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mappers import openmrs_rows as r
from sync2.sources.mysql._grants import write_privileges

NAMES = [
    {"name": "short", "locale": "en_GB", "concept_name_type": "SHORT"},
    {"name": "synonym", "locale": "en_GB", "concept_name_type": None},
    {"name": "fully", "locale": "en_GB", "concept_name_type": "FULLY_SPECIFIED"},
    {"name": "pref-en", "locale": "en", "locale_preferred": 1, "concept_name_type": None},
    {"name": "fr-fs", "locale": "fr", "concept_name_type": "FULLY_SPECIFIED"},
    {"name": "voided", "locale": "sw", "locale_preferred": 1, "voided": 1},
]


@pytest.mark.parametrize(
    ("names", "locale", "expected"),
    [
        (NAMES, "en_GB", "fully"),  # exact locale: fully specified beats synonym and short
        (NAMES[:3], "en_GB", "fully"),
        (NAMES[:2], "en_GB", "synonym"),  # synonym beats short
        (NAMES, "en", "pref-en"),  # locale preferred in the exact locale
        (NAMES, "fr_CA", "fr-fs"),  # language fallback
        (NAMES, "sw", "pref-en"),  # default locale (en); the voided sw name is ignored
        ([{"name": "x", "locale": "de"}], "en", "x"),  # anything rather than nothing
        ([], "en", None),
    ],
)
def test_choose_concept_name(names, locale, expected):
    assert r.choose_concept_name(names, locale, "en") == expected


@pytest.mark.parametrize(
    ("name", "hl7", "url", "expected"),
    [
        ("CIEL", None, None, r.CIEL_URL),
        ("LOINC", "LN", None, r.LOINC_URL),
        ("SNOMED CT", None, None, r.SNOMED_URL),
        ("Local", "SCT", None, r.SNOMED_URL),
        ("ICD-10", "I10", None, None),
        ("ICD-10", "I10", "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10"),
    ],
)
def test_source_system(name, hl7, url, expected):
    assert r.source_system(name, hl7, url) == expected


def test_boolean_obs_before_and_after_1_7():
    concept = r.ConceptInfo("q", "Q", datatype="BIT")
    coded = r.ObsContext(concept, true_concept_id=7, false_concept_id=8)
    row = {"uuid": "o", "date_created": datetime(2020, 1, 1), "value_coded": 8}
    assert r.observation_resource(row, coded)["valueBoolean"] is False
    legacy = {"uuid": "o", "date_created": datetime(2020, 1, 1), "value_numeric": 1.0}
    assert r.observation_resource(legacy, coded)["valueBoolean"] is True


def test_estimated_birthdate_precision_and_meta_covers_child_rows():
    person = {
        "uuid": "p",
        "birthdate": date(1976, 8, 25),
        "birthdate_estimated": 1,
        "date_created": datetime(2006, 1, 18),
        "gender": "F",
    }
    names = [
        {
            "uuid": "n",
            "given_name": "A",
            "family_name": "B",
            "date_created": datetime(2006, 1, 18),
            "date_changed": datetime(2020, 5, 1),
        }
    ]
    patient = r.patient_resource(person, names, [], [], today=date(2024, 1, 1))
    assert patient["birthDate"] == "1976"
    assert patient["meta"]["lastUpdated"] == "2020-05-01T00:00:00+00:00"
    young = r.patient_resource(
        {**person, "birthdate": date(2022, 3, 4)}, [], [], [], today=date(2024, 1, 1)
    )
    assert young["birthDate"] == "2022-03"


@pytest.mark.parametrize(
    ("grants", "expected"),
    [
        (["GRANT SELECT ON `omrs%`.* TO `ro`@`%`"], []),
        (["GRANT ALL PRIVILEGES ON `open%`.* TO `rw`@`%`"], ["ALL PRIVILEGES"]),
        (["GRANT UPDATE (name) ON `openmrs`.`person` TO `u`@`%`"], ["UPDATE"]),
        (["GRANT INSERT ON `other`.* TO `u`@`%`"], []),
        (["GRANT DELETE ON *.* TO `u`@`%`"], ["DELETE"]),
    ],
)
def test_write_privileges(grants, expected):
    assert write_privileges(grants, "openmrs") == expected
