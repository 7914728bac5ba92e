"""FHIR R4 (as OpenMRS fhir2 sends it) -> Patient Passport documents.

Pure: functions over plain dicts, no I/O. The engine calls :func:`map_resource` once per
fetched resource with a per-source :class:`MappingContext`::

    >>> ctx = MappingContext(source="central", hospital="Central Hospital")
    >>> doc = map_resource({"resourceType": "Observation", "id": "o1",
    ...     "code": {"text": "Weight (kg)"}, "valueQuantity": {"value": 75.0, "unit": "kg"}}, ctx)
    >>> doc.type, doc.value, doc.unit
    ('vital', '75', 'kg')
"""

from __future__ import annotations

from ._categorise import categorise
from ._context import EncounterInfo, MappingContext, MappingError
from ._encounter import encounter_info
from ._fhir import ref_id
from ._map import SUPPORTED_TYPES, bundle_resources, map_patients, map_resource
from ._origin import ORIGIN_TAG, origin_hospital
from ._passport import passport_record
from ._patient import normalise_national_id
from ._rules import (
    DEFAULT_RULES,
    ConceptRules,
    default_rules,
    load_concept_rules,
    parse_concept_rules,
)
from .documents import (
    RECORD_RESOURCE_TYPES,
    DoctorDoc,
    Document,
    LocationDoc,
    PatientDoc,
    RecordDoc,
)

__all__ = [
    "DEFAULT_RULES",
    "ORIGIN_TAG",
    "RECORD_RESOURCE_TYPES",
    "SUPPORTED_TYPES",
    "ConceptRules",
    "DoctorDoc",
    "Document",
    "EncounterInfo",
    "LocationDoc",
    "MappingContext",
    "MappingError",
    "PatientDoc",
    "RecordDoc",
    "bundle_resources",
    "categorise",
    "default_rules",
    "encounter_info",
    "load_concept_rules",
    "map_patients",
    "map_resource",
    "normalise_national_id",
    "origin_hospital",
    "parse_concept_rules",
    "passport_record",
    "ref_id",
]
