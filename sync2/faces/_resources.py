"""What the passport serves for one stored row: its raw FHIR resource, with where it came from.

A record keeps the resource its hospital sent, so the face serves that rather than rebuilding
it from the passport's display fields. Serving adds only what a reader needs to trust it and
what the next passport in a chain needs to keep it apart:

- ``meta.source``: the hospital (kept as it is when an upstream passport already set it);
- ``meta.tag`` ``urn:sync2:hospital`` (the first passport's source id and the hospital's name)
  and ``urn:sync2:via`` (each passport's source id on the way, so a loop can be refused);
- ``meta.lastUpdated`` / ``meta.versionId``: when *this passport* last changed it, which is
  what a child polling ``_lastUpdated`` needs (a record synced today from a 2019 visit is new);
- an identifier ``urn:ietf:rfc:3986|urn:uuid:<uuid>``: the hospital's uuid, kept at every hop;
- a record voided at its hospital says ``entered-in-error`` in the type's own status element.

Everything here is pure: dicts in, dicts out, no store and no HTTP.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from mappers import ORIGIN_TAG

JSON = dict[str, Any]

HOSPITAL_TAG = ORIGIN_TAG
VIA_TAG = "urn:sync2:via"
UUID_SYSTEM = "urn:ietf:rfc:3986"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENTERED_IN_ERROR = "entered-in-error"
_SUPERSEDED = "superseded"

#: Types whose ``verificationStatus`` (not ``status``) says entered-in-error, with its system;
#: their ``clinicalStatus`` must then be absent (FHIR invariants con-5 and ait-2).
_VERIFICATION_SYSTEMS = {
    "Condition": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
    "AllergyIntolerance": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
}
#: Types with no status element that can say entered-in-error.
_NO_STATUS = frozenset({"Patient", "Practitioner", "Location"})


def instant(epoch: float) -> str:
    """A FHIR instant (UTC, milliseconds) for an epoch time.

    >>> instant(1719312976.5)
    '2024-06-25T10:56:16.500+00:00'
    """
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds")


def origin_identifier(uuid: str) -> JSON:
    """The hospital's uuid as an identifier; a non-uuid id keeps its own value.

    >>> origin_identifier("7e0df26e-5ad7-4a02-9c1c-3744b6e9b4ec")["value"]
    'urn:uuid:7e0df26e-5ad7-4a02-9c1c-3744b6e9b4ec'
    >>> origin_identifier("loc-1")
    {'system': 'urn:sync2:uuid', 'value': 'loc-1'}
    """
    if _UUID.match(uuid):
        return {"system": UUID_SYSTEM, "value": f"urn:uuid:{uuid.lower()}"}
    return {"system": "urn:sync2:uuid", "value": uuid}


def tag_codes(resource: JSON, system: str) -> list[str]:
    """The codes of ``meta.tag`` entries of one system.

    >>> tag_codes({"meta": {"tag": [{"system": "urn:sync2:via", "code": "d"}]}}, "urn:sync2:via")
    ['d']
    """
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return [
        str(t.get("code"))
        for t in tags or []
        if isinstance(t, dict) and t.get("system") == system and t.get("code")
    ]


def served(
    raw: JSON,
    *,
    resource_type: str,
    uuid: str,
    source: str,
    hospital: str | None,
    changed_at: float,
    status: str | None = None,
) -> JSON:
    """The resource as the passport serves it (a copy; ``raw`` is not changed).

    >>> r = served({"resourceType": "Observation", "id": "o1", "status": "final"},
    ...            resource_type="Observation", uuid="o1", source="central",
    ...            hospital="Central", changed_at=0.0, status="entered-in-error")
    >>> r["status"], r["meta"]["source"], r["meta"]["lastUpdated"], tag_codes(r, VIA_TAG)
    ('entered-in-error', 'urn:sync2:hospital:central', '1970-01-01T00:00:00.000+00:00', ['central'])
    """
    # a shallow copy is enough: below, only top-level keys are set, and each nested value
    # that changes (meta, identifier, subject) is replaced by a new object, never edited
    resource = dict(raw) if raw else {}
    resource["resourceType"] = resource_type
    resource["id"] = uuid
    found = resource.get("meta")
    meta: JSON = dict(found) if isinstance(found, dict) else {}
    meta.setdefault("source", f"urn:sync2:hospital:{source}")
    meta["lastUpdated"] = instant(changed_at)
    meta["versionId"] = str(round(changed_at * 1000))
    tags = [t for t in meta.get("tag") or [] if isinstance(t, dict)]
    if not tag_codes({"meta": {"tag": tags}}, HOSPITAL_TAG):
        tag: JSON = {"system": HOSPITAL_TAG, "code": source}
        if hospital:
            tag["display"] = hospital
        tags.append(tag)
    if source not in tag_codes({"meta": {"tag": tags}}, VIA_TAG):
        tags.append({"system": VIA_TAG, "code": source})
    meta["tag"] = tags
    resource["meta"] = meta
    _add_identifier(resource, uuid)
    if status == _ENTERED_IN_ERROR:
        mark_entered_in_error(resource)
    return resource


def _add_identifier(resource: JSON, uuid: str) -> None:
    ident = origin_identifier(uuid)
    found = resource.get("identifier")
    if isinstance(found, dict):  # the tolerant path reads a lone object as a list of one
        found = [found]
    if not isinstance(found, list):
        found = []
    if not any(
        isinstance(i, dict)
        and i.get("system") == ident["system"]
        and i.get("value") == ident["value"]
        for i in found
    ):
        found = [*found, ident]
    resource["identifier"] = found


def mark_entered_in_error(resource: JSON) -> None:
    """Say, in the type's own element, that the hospital voided this record.

    >>> c = {"resourceType": "Condition", "clinicalStatus": {"text": "active"}}
    >>> mark_entered_in_error(c)
    >>> c["verificationStatus"]["coding"][0]["code"], "clinicalStatus" in c
    ('entered-in-error', False)
    """
    rtype = str(resource.get("resourceType"))
    system = _VERIFICATION_SYSTEMS.get(rtype)
    if system is not None:
        resource["verificationStatus"] = {"coding": [{"system": system, "code": _ENTERED_IN_ERROR}]}
        resource.pop("clinicalStatus", None)
    elif rtype in _NO_STATUS:
        resource["active"] = False
    else:
        resource["status"] = _ENTERED_IN_ERROR


def serve_record(doc: JSON) -> JSON:
    """A stored medical record (with ``changed_at`` from a change scan) as served: its patient
    reference points at the passport patient, the one Patient the face serves for a person."""
    resource = served(
        doc.get("raw") or {},
        resource_type=str(doc["resource_type"]),
        uuid=str(doc["uuid"]),
        source=str(doc["source"]),
        hospital=doc.get("hospital"),
        changed_at=float(doc.get("changed_at") or 0.0),
        status=doc.get("status"),
    )
    if doc.get("patient_id"):
        repoint_patient(resource, str(doc["patient_id"]))
    return resource


def repoint_patient(resource: JSON, patient_id: str) -> None:
    """Point ``subject`` / ``patient`` at the passport patient, keeping the display.

    >>> r = {"subject": {"reference": "Patient/abc", "display": "Jo"}}
    >>> repoint_patient(r, "NID1"); r["subject"]
    {'reference': 'Patient/NID1', 'display': 'Jo'}
    """
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            resource[key] = {**ref, "reference": f"Patient/{patient_id}"}


def serve_patient(patient_id: str, links: list[JSON], hospitals: dict[str, str]) -> JSON:
    """One Patient for a passport patient, from its hospitals' own Patient resources.

    ``links`` are the hospital patients (with ``changed_at``), the preferred one first: its
    resource is served, under the passport patient's id, with every hospital patient's uuid
    kept as an identifier; ``lastUpdated`` is the newest hospital change.
    """
    first = links[0]
    resource = served(
        first.get("raw") or {},
        resource_type="Patient",
        uuid=patient_id,
        source=str(first["source"]),
        hospital=hospitals.get(str(first["source"]), str(first["source"])),
        changed_at=max(float(link.get("changed_at") or 0.0) for link in links),
    )
    own = origin_identifier(patient_id)
    idents = [i for i in resource["identifier"] if i != own]
    for link in links:
        ident = origin_identifier(str(link["uuid"]))
        if ident not in idents:
            idents.append(ident)
    resource["identifier"] = idents
    return resource


def serve_directory(doc: JSON, resource_type: str, hospitals: dict[str, str]) -> JSON:
    """A stored doctor or location as served; ``hospitals``: source id -> name."""
    source = str(doc["source"])
    changed_at = doc.get("changed_at")
    if changed_at is None:  # doctors and locations keep the hospital's own time only
        changed_at = _epoch(doc.get("last_updated"))
    return served(
        doc.get("raw") or {},
        resource_type=resource_type,
        uuid=str(doc["uuid"]),
        source=source,
        hospital=hospitals.get(source, source),
        changed_at=float(changed_at),
    )


def _epoch(text: Any) -> float:
    """
    >>> _epoch("2024-06-25T10:56:16.000+00:00"), _epoch(None)
    (1719312976.0, 0.0)
    """
    if not isinstance(text, str):
        return 0.0
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def is_hidden(doc: JSON) -> bool:
    """Superseded versions are not served: an edit replaced them (as fhir2 answers 410)."""
    return doc.get("status") == _SUPERSEDED


def provenance(doc: JSON, resource_type: str) -> JSON:
    """A Provenance for one stored row: which hospital, which doctor, when the passport got it.

    >>> p = provenance({"uuid": "o1", "source": "c", "hospital": "Central", "doctor": "Dr A",
    ...                 "changed_at": 0.0}, "Observation")
    >>> p["target"][0]["reference"], [a["who"]["display"] for a in p["agent"]]
    ('Observation/o1', ['Central', 'Dr A'])
    """
    uuid = str(doc["uuid"])
    agents: list[JSON] = [
        {
            "type": _participant("custodian", "Custodian"),
            "who": {"display": doc.get("hospital") or str(doc["source"])},
        }
    ]
    if doc.get("doctor"):
        agents.append({"type": _participant("author", "Author"), "who": {"display": doc["doctor"]}})
    return {
        "resourceType": "Provenance",
        "id": uuid,
        "target": [{"reference": f"{resource_type}/{uuid}"}],
        "recorded": instant(float(doc.get("changed_at") or 0.0)),
        "activity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                    "code": "UPDATE" if doc.get("version") else "CREATE",
                }
            ]
        },
        "agent": agents,
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": origin_identifier(uuid),
                    "display": f"{resource_type}/{uuid} at source {doc['source']}",
                },
            }
        ],
    }


def _participant(code: str, display: str) -> JSON:
    return {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": code,
                "display": display,
            }
        ]
    }


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> JSON:
    """The body of every error answer.

    >>> operation_outcome("not-found", "no Observation/x")["issue"][0]["code"]
    'not-found'
    """
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
