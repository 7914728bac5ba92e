"""The concept dictionary the simulated hospitals use: CIEL uuids with CIEL and LOINC/SNOMED maps.

Only what the fhir2 translators read is kept: uuid, display name, datatype, units, ranges,
category (from the concept class) and the mapped terms emitted after the system-less uuid coding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CIEL = "https://openconceptlab.org/orgs/CIEL/sources/CIEL"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"


def ciel_uuid(code: int | str) -> str:
    """CIEL concept uuids are the code padded with ``A`` to 36 characters.

    >>> ciel_uuid(5089)
    '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    """
    return str(code).ljust(36, "A")


@dataclass(frozen=True, eq=False)
class Concept:
    """One OpenMRS concept as fhir2 sees it."""

    code: str  # CIEL code (or a local key)
    name: str
    datatype: str  # numeric | coded | text | datetime | boolean | group
    units: str | None = None
    ucum: str | None = None  # set only when the units are valid UCUM
    allow_decimal: bool = True
    category: str | None = None  # laboratory | exam | None
    maps: tuple[tuple[str, str], ...] = ()
    normal: tuple[float, float] | None = None
    absolute: tuple[float, float] | None = None
    typical: tuple[float, float] = (0.0, 0.0)  # range random values are drawn from
    members: tuple[str, ...] = field(default=())  # kinds of the group's members

    @property
    def uuid(self) -> str:
        return ciel_uuid(self.code)


def _c(code: int, name: str, datatype: str, loinc: str | None = None, **kw: object) -> Concept:
    maps: list[tuple[str, str]] = [(CIEL, str(code))]
    if loinc:
        maps.append((LOINC, loinc))
    return Concept(str(code), name, datatype, maps=tuple(maps), **kw)  # type: ignore[arg-type]


#: kind -> concept; the kinds are what ``Hospital.add_observation(kind=...)`` accepts.
KINDS: dict[str, Concept] = {
    "weight": _c(
        5089,
        "Weight (kg)",
        "numeric",
        "29463-7",
        units="kg",
        ucum="kg",
        category="exam",
        normal=(2.0, 150.0),
        absolute=(0.0, 250.0),
        typical=(45, 95),
    ),
    "height": _c(
        5090,
        "Height (cm)",
        "numeric",
        "8302-2",
        units="cm",
        ucum="cm",
        category="exam",
        normal=(40.0, 210.0),
        absolute=(10.0, 272.0),
        typical=(150, 190),
    ),
    "temperature": _c(
        5088,
        "Temperature (C)",
        "numeric",
        "8310-5",
        units="DEG C",
        category="exam",
        normal=(36.0, 37.5),
        absolute=(25.0, 43.0),
        typical=(36.0, 39.5),
    ),
    "systolic": _c(
        5085,
        "Systolic blood pressure",
        "numeric",
        "8480-6",
        units="mmHg",
        allow_decimal=False,
        category="exam",
        normal=(90.0, 139.0),
        absolute=(0.0, 250.0),
        typical=(95, 165),
    ),
    "diastolic": _c(
        5086,
        "Diastolic blood pressure",
        "numeric",
        "8462-4",
        units="mmHg",
        allow_decimal=False,
        category="exam",
        normal=(60.0, 89.0),
        absolute=(0.0, 150.0),
        typical=(55, 100),
    ),
    "pulse": _c(
        5087,
        "Pulse",
        "numeric",
        "8867-4",
        units="beats/min",
        allow_decimal=False,
        category="exam",
        normal=(60.0, 100.0),
        absolute=(0.0, 230.0),
        typical=(55, 120),
    ),
    "haemoglobin": _c(
        21,
        "Haemoglobin",
        "numeric",
        "718-7",
        units="g/dL",
        ucum="g/dL",
        category="laboratory",
        normal=(12.0, 17.0),
        absolute=(0.0, 25.0),
        typical=(8.0, 18.0),
    ),
    "diagnosis": _c(1284, "Problem list", "coded", "29548-5"),
    "note": _c(162169, "Text of encounter note", "text", "34109-9"),
    "next_visit": _c(5096, "Return visit date", "datetime", "52831-5"),
    "pregnant": _c(5272, "Currently pregnant", "boolean", "82810-3"),
    "blood_pressure": _c(
        160912, "Blood pressure", "group", "35094-2", members=("systolic", "diastolic")
    ),
}

#: coded answers for ``diagnosis``: name -> (CIEL code, SNOMED code)
DIAGNOSES: dict[str, tuple[int, str]] = {
    "Malaria": (116128, "61462000"),
    "Hypertension": (117399, "38341003"),
    "Pneumonia": (114100, "233604007"),
    "Diabetes mellitus": (119481, "73211009"),
    "Tuberculosis": (112141, "56717001"),
    "Asthma": (121375, "195967001"),
}

#: the concepts behind valueBoolean (GP concept.true / concept.false)
TRUE_CONCEPT = ciel_uuid(1065)
FALSE_CONCEPT = ciel_uuid(1066)

NOTES = (
    "Patient reports feeling better.",
    "Advised to return if fever persists.",
    "Follow-up in two weeks.",
    "Counselled on medication adherence.",
    "No complaints today.",
)

#: allergens: name -> (CIEL code, fhir2 category)
ALLERGENS: dict[str, tuple[int, str]] = {
    "Penicillin": (81724, "medication"),
    "Sulfonamides": (162298, "medication"),
    "Aspirin": (71617, "medication"),
    "Peanuts": (162302, "food"),
    "Shellfish": (162306, "food"),
    "Dust": (162544, "environment"),
}

#: allergic reactions (manifestations): name -> CIEL code
REACTIONS: dict[str, int] = {
    "Rash": 512,
    "Hives": 111061,
    "Anaphylaxis": 148888,
    "Nausea": 5978,
    "Wheezing": 5209,
}

#: drugs: name -> (CIEL concept of the drug, dose unit)
DRUGS: dict[str, tuple[int, str]] = {
    "Amoxicillin 500mg capsule": (71160, "Capsule"),
    "Paracetamol 500mg tablet": (70116, "Tablet"),
    "Metformin 500mg tablet": (79651, "Tablet"),
    "Amlodipine 5mg tablet": (71648, "Tablet"),
    "Salbutamol 100mcg inhaler": (80095, "Puff"),
}

#: order frequencies: name -> CIEL code
FREQUENCIES: dict[str, int] = {
    "Once daily": 160862,
    "Twice daily": 160858,
    "Three times daily": 160866,
}

#: the route every simulated drug order uses
ORAL = (160240, "Oral")

#: orderable tests: name -> (CIEL code, LOINC code, obs kind of its result)
TESTS: dict[str, tuple[int, str, str]] = {
    "Complete blood count": (1019, "58410-2", "haemoglobin"),
    "Haemoglobin": (21, "718-7", "haemoglobin"),
}
