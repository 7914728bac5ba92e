"""Strict validation with fhir.resources R4B, and cheap notes on what the tolerant path forgave.

fhir.resources is imported on first strict use only: building a pydantic model per resource
costs far more than mapping it, and the engine's default path never needs it.
"""

from __future__ import annotations

from typing import Any

from ._fhir import JSON

#: Repeating elements that real clients sometimes send as a single object.
_REPEATING = frozenset((
    "identifier", "name", "telecom", "address", "category", "hasMember", "participant",
    "location", "referenceRange", "interpretation", "reasonCode", "type", "reaction", "note",
    "dosageInstruction", "basedOn", "result", "performer", "replaces",
    "authorizingPrescription", "extension",
))  # fmt: skip
#: Elements of those names that are single in a given type (Location.address is one Address).
_SINGLE = {
    "Location": frozenset({"address", "type"}),
    "MedicationDispense": frozenset({"type", "location"}),
    "MedicationRequest": frozenset({"performer"}),
}


def tolerance_notes(resource: JSON) -> list[str]:
    """Shape problems the mappers read around (no patient data in the notes).

    >>> tolerance_notes({"resourceType": "Patient", "identifier": {"value": "x"}})
    ['tolerant: Patient.identifier is an object, read as a list of one']
    >>> tolerance_notes({"resourceType": "Location", "address": {"city": "x"}})
    []
    """
    suspects = [key for key in resource if key in _REPEATING]  # most resources: two or three
    if not suspects:
        return []
    rtype = str(resource.get("resourceType"))
    single = _SINGLE.get(rtype, ())
    return [
        f"tolerant: {rtype}.{key} is an object, read as a list of one"
        for key in suspects
        if isinstance(resource[key], dict) and key not in single
    ]


def _describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            items: list[dict[str, Any]] = list(errors(include_input=False, include_url=False))
        except TypeError:  # not a pydantic ValidationError after all
            items = []
        if items:
            parts = []
            for err in items[:3]:
                loc = ".".join(str(p) for p in err.get("loc", ()))
                parts.append(f"{loc}: {err.get('msg', err.get('type', 'invalid'))}")
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            return f"{len(items)} error(s): " + "; ".join(parts) + more
    return type(exc).__name__


def strict_validation(resource: JSON) -> list[str]:
    """Validate with the fhir.resources R4B model; the problems as messages (empty when valid).

    Messages carry element paths and error kinds, never the offending values.
    """
    from fhir.resources.R4B import get_fhir_model_class

    rtype = str(resource.get("resourceType"))
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError) as exc:
        return [f"strict R4B validation skipped: {rtype} has no model ({type(exc).__name__})"]
    try:
        model.model_validate(resource)
    except Exception as exc:  # pydantic.ValidationError and the model's own checks
        return [f"strict R4B validation failed for {rtype}: {_describe(exc)}"]
    return []
