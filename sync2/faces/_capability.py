"""The CapabilityStatement: exactly what the FHIR face answers, built from the same tables the
query parser enforces, so the statement cannot promise a parameter the server refuses."""

from __future__ import annotations

from ._query import RECORD_PARAMS, TYPE_PARAMS
from ._resources import JSON

_PARAM_TYPES = {
    "_id": "token",
    "_lastUpdated": "date",
    "_tag": "token",
    "patient": "reference",
    "subject": "reference",
    "category": "token",
    "code": "token",
    "date": "date",
    "identifier": "token",
    "name": "string",
    "birthdate": "date",
    "target": "reference",
}
_COMMON = ("_id", "_lastUpdated", "_tag")


def _resource(rtype: str, params: list[str]) -> JSON:
    entry: JSON = {
        "type": rtype,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": p, "type": _PARAM_TYPES[p]} for p in params],
    }
    if rtype == "Patient":
        entry["operation"] = [
            {
                "name": "summary",
                "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
            }
        ]
    return entry


def capability_statement(base_url: str, record_types: tuple[str, ...]) -> JSON:
    """What ``/metadata`` answers; ``record_types``: the clinical types the passport serves."""
    resources = [
        _resource("Patient", [*_COMMON, *sorted(TYPE_PARAMS["Patient"])]),
        _resource("Practitioner", [*_COMMON, *sorted(TYPE_PARAMS["Practitioner"])]),
        _resource("Location", [*_COMMON, *sorted(TYPE_PARAMS["Location"])]),
        _resource("Provenance", ["_id", *sorted(TYPE_PARAMS["Provenance"])]),
    ]
    resources += [_resource(t, [*_COMMON, *sorted(RECORD_PARAMS)]) for t in record_types]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-30",
        "kind": "instance",
        "software": {"name": "sync2 patient passport"},
        "implementation": {"description": "sync2 passport, read-only", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Searches page by keyset (follow the next link); _count is 0 to "
                    "1000 (default 100); _sort accepts _lastUpdated only; unknown parameters are "
                    "refused with 400."
                ),
                "security": {
                    "description": "Bearer token (admin or doctor role), or the token "
                    "as the password of Basic auth."
                },
                "resource": resources,
            }
        ],
    }
