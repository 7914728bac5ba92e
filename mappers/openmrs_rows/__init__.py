"""OpenMRS database rows -> FHIR R4 resources shaped as the fhir2 module shapes them.

Hospitals on OpenMRS 1.x cannot run fhir2, so the MySQL source reads rows and builds here the
JSON that fhir2 would have served (ids = uuids, the concept-uuid coding first, the same
extension URLs), so that every mapper after the source treats both kinds of hospital alike.
The facts behind each shape are in research/openmrs-fhir2-and-schema.md (A5-A8, B4).

Everything here is pure: rows in (plain mappings, already joined and batched by the source),
dicts out. Datetimes from the database are naive server-local times; they are written as UTC,
because OpenMRS stores no zone (the caller may shift them first). One module per resource
family; every public name is importable from this package.
"""

from __future__ import annotations

from ._allergy import SEVERITIES, AllergyContext, allergy_resource, severity_from_text
from ._common import (
    ADDRESS_EXT,
    CATEGORY_SYSTEM,
    CIEL_URL,
    ENCOUNTER_TAG_SYSTEM,
    ENCOUNTER_TYPE_SYSTEM,
    IDENTIFIER_LOCATION_EXT,
    INTERPRETATION_SYSTEM,
    JSON,
    LOCATION_TAG_SYSTEM,
    LOINC_URL,
    NAME_EXT,
    PROVIDER_IDENTIFIER_SYSTEM,
    SAME_AS_UUID,
    SNOMED_URL,
    UCUM,
    Party,
    Row,
    as_datetime,
    epoch_seconds,
    flag,
    iso,
    meta,
    number,
    party_ref,
    ref,
    text,
)
from ._concepts import (
    ConceptInfo,
    choose_concept_name,
    codeable_concept,
    concept_codings,
    source_system,
)
from ._condition import (
    ConditionContext,
    condition_resource,
    diagnosis_resource,
    legacy_problem_status,
)
from ._dispense import DispenseContext, dispense_status, medication_dispense_resource
from ._encounter import EncounterContext, encounter_resource, location_resource
from ._observation import ObsContext, observation_resource
from ._orders import (
    OrderContext,
    dosage,
    duration_unit,
    is_active,
    medication_request_resource,
    medication_request_status,
    service_request_resource,
    service_request_status,
)
from ._people import (
    address,
    human_name,
    legacy_provider_uuid,
    name_sort_key,
    patient_resource,
    practitioner_resource,
    provider_display,
)

__all__ = [
    "ADDRESS_EXT",
    "CATEGORY_SYSTEM",
    "CIEL_URL",
    "ENCOUNTER_TAG_SYSTEM",
    "ENCOUNTER_TYPE_SYSTEM",
    "IDENTIFIER_LOCATION_EXT",
    "INTERPRETATION_SYSTEM",
    "JSON",
    "LOCATION_TAG_SYSTEM",
    "LOINC_URL",
    "NAME_EXT",
    "PROVIDER_IDENTIFIER_SYSTEM",
    "SAME_AS_UUID",
    "SEVERITIES",
    "SNOMED_URL",
    "UCUM",
    "AllergyContext",
    "ConceptInfo",
    "ConditionContext",
    "DispenseContext",
    "EncounterContext",
    "ObsContext",
    "OrderContext",
    "Party",
    "Row",
    "address",
    "allergy_resource",
    "as_datetime",
    "choose_concept_name",
    "codeable_concept",
    "concept_codings",
    "condition_resource",
    "diagnosis_resource",
    "dispense_status",
    "dosage",
    "duration_unit",
    "encounter_resource",
    "epoch_seconds",
    "flag",
    "human_name",
    "is_active",
    "iso",
    "legacy_problem_status",
    "legacy_provider_uuid",
    "location_resource",
    "medication_dispense_resource",
    "medication_request_resource",
    "medication_request_status",
    "meta",
    "name_sort_key",
    "number",
    "observation_resource",
    "party_ref",
    "patient_resource",
    "practitioner_resource",
    "provider_display",
    "ref",
    "service_request_resource",
    "service_request_status",
    "severity_from_text",
    "source_system",
    "text",
]
