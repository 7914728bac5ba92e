"""``map_resource``: one entry point that dispatches on ``resourceType``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from conflicts.hashing import canonical_hash

from ._allergy import map_allergy
from ._condition import map_condition
from ._context import MappingContext, MappingError
from ._directory import map_location, map_practitioner
from ._encounter import map_encounter
from ._fhir import JSON, dicts, meta_of, str_or_none
from ._lab import map_diagnostic_report, map_service_request
from ._medication import map_medication_dispense, map_medication_request
from ._observation import map_observation
from ._origin import keep_origin
from ._patient import map_patient
from ._validate import strict_validation, tolerance_notes
from .documents import Document, PatientDoc

_MAPPERS: dict[str, Callable[[JSON, MappingContext, str], Document | None]] = {
    "Patient": map_patient,
    "Observation": map_observation,
    "Encounter": map_encounter,
    "Practitioner": map_practitioner,
    "Location": map_location,
    "AllergyIntolerance": map_allergy,
    "Condition": map_condition,
    "MedicationRequest": map_medication_request,
    "MedicationDispense": map_medication_dispense,
    "ServiceRequest": map_service_request,
    "DiagnosticReport": map_diagnostic_report,
}
SUPPORTED_TYPES = tuple(sorted(_MAPPERS))


def _identity(resource: Any) -> tuple[str, str]:
    if not isinstance(resource, dict):
        msg = f"resource is not a JSON object (got {type(resource).__name__})"
        raise MappingError(msg)
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        msg = "resource has no resourceType"
        raise MappingError(msg)
    uuid = resource.get("id")
    if isinstance(uuid, int) and not isinstance(uuid, bool):
        uuid = str(uuid)
    if not isinstance(uuid, str) or not uuid.strip():
        msg = f"{rtype} has no id"
        raise MappingError(msg)
    if rtype not in _MAPPERS:
        msg = f"{rtype}/{uuid}: unsupported resource type (supported: {', '.join(SUPPORTED_TYPES)})"
        raise MappingError(msg)
    return rtype, uuid.strip()


def map_resource(
    resource: JSON, ctx: MappingContext, *, content_hash: str | None = None
) -> Document | None:
    """Map one FHIR R4 resource (as parsed JSON) to its passport document.

    Args:
        resource: a Patient, Observation, Encounter, Practitioner, Location,
            AllergyIntolerance, Condition, MedicationRequest, MedicationDispense,
            ServiceRequest or DiagnosticReport (R4, or the STU3 shapes clients still post).
        ctx: the source's mapping context.
        content_hash: ``canonical_hash(resource)`` when the caller has it already (a source
            hashes what it reads to tell versions apart); computed here otherwise.

    Returns:
        A PatientDoc, RecordDoc, DoctorDoc or LocationDoc; ``None`` when the resource is not
        ours to keep (a Practitioner that is a bare user, not a provider).

    Raises:
        MappingError: not a dict, no resourceType, no id, or an unsupported type. The message
            names the type and id only.
    """
    rtype, uuid = _identity(resource)
    warnings = tolerance_notes(resource)
    if ctx.validate:
        warnings = strict_validation(resource) + warnings
    try:
        doc = _MAPPERS[rtype](resource, ctx, uuid)
    except MappingError:
        raise
    except Exception as exc:  # a shape no tolerant reader foresaw: park it, keep the feed going
        msg = f"{rtype}/{uuid}: cannot be mapped ({type(exc).__name__})"
        raise MappingError(msg) from exc
    if doc is None:
        return None
    keep_origin(doc, resource)
    meta = meta_of(resource)
    doc.version = str_or_none(meta.get("versionId"))
    doc.last_updated = str_or_none(meta.get("lastUpdated"))
    doc.content_hash = content_hash or canonical_hash(resource)
    doc.raw = resource
    doc.warnings = warnings
    return doc


def bundle_resources(bundle: JSON) -> Iterator[JSON]:
    """The resources of a searchset Bundle's entries, in order (entries without one skipped).

    >>> [r["id"] for r in bundle_resources({"entry": [{"resource": {"id": "a"}}, {}]})]
    ['a']
    """
    for entry in dicts(bundle.get("entry")):
        resource = entry.get("resource")
        if isinstance(resource, dict):
            yield resource


def map_patients(resources: Iterable[JSON], ctx: MappingContext) -> list[PatientDoc]:
    """The Patient documents among fetched resources; what cannot be mapped is left out (the
    caller looks those patients up again, or records them as failed, by uuid).

    >>> ctx = MappingContext(source="s", hospital="H")
    >>> [d.uuid for d in map_patients([{"resourceType": "Patient", "id": "p1"}, {}], ctx)]
    ['p1']
    """
    docs = []
    for resource in resources:
        try:
            doc = map_resource(resource, ctx)
        except MappingError:
            continue
        if isinstance(doc, PatientDoc):
            docs.append(doc)
    return docs
