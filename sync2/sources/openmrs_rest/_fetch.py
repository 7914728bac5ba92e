"""Current state of changed objects through REST, as fhir2-shaped resources.

A read by uuid returns voided objects too, so a void shows as ``voided: true`` (a deleted object
as 404): both become :class:`Gone`. Reads are batched where the API allows: once one object of a
window is read, a search by its parent (``encounter?patient=``, ``visit?patient=``,
``condition?patientUuid=``, ``patientdiagnoses?patientUuid=``, ``medicationdispense?patient=``,
``obs?encounter=``) brings its live siblings in one request. Which encounter an obs belongs to
never changes, so it is remembered from every encounter read (:class:`Hints`), and an obs window
whose encounters are known costs one search per encounter and no reads at all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from mappers.openmrs_rest import (
    RestShapeError,
    concept_uuids,
    encounter_from_rest,
    is_voided,
    location_from_rest,
    observations_from_rest,
    patient_from_rest,
    practitioner_from_rest,
    uuid_of,
    visit_from_rest,
)
from mappers.openmrs_rest_clinical import allergy_from_rest, order_from_rest
from mappers.openmrs_rest_history import (
    condition_from_rest,
    diagnosis_from_rest,
    dispense_from_rest,
)

from ..._errors import BadResponseError, TransientSourceError
from .._base import Failure, FetchResult, Gone
from ._client import RestClient

JSON = dict[str, Any]
_READ_ERRORS = (TransientSourceError, BadResponseError, RestShapeError)
_HINTS_SIZE = 200_000


def today() -> date:
    return datetime.now(UTC).date()


@dataclass(slots=True)
class Hints:
    """What one source has learnt that saves requests: visit uuids (from feed categories; an
    Encounter is a visit or an encounter) and obs uuid -> encounter uuid (bounded)."""

    visits: set[str] = field(default_factory=set)
    #: Condition uuids the feed published as encounter diagnoses (read at ``patientdiagnoses``)
    diagnoses: set[str] = field(default_factory=set)
    obs_encounter: OrderedDict[str, str] = field(default_factory=OrderedDict)
    #: allergy uuid -> patient uuid (an allergy is read below its patient)
    allergy_patient: dict[str, str] = field(default_factory=dict)

    def remember_obs(self, trees: Iterable[JSON], encounter: str | None = None) -> None:
        stack = list(trees)
        while stack:
            item = stack.pop()
            uuid, parent = uuid_of(item), encounter or uuid_of(item.get("encounter"))
            if uuid and parent:
                self.obs_encounter[uuid] = parent
                self.obs_encounter.move_to_end(uuid)
            stack.extend(m for m in item.get("groupMembers") or [] if isinstance(m, dict))
        while len(self.obs_encounter) > _HINTS_SIZE:
            self.obs_encounter.popitem(last=False)


Convert = Callable[[JSON, RestClient], JSON]
#: FHIR type -> [(REST kind, converter)], tried in order (the client looks up what an object
#: only refers to: who recorded a condition)
KINDS: dict[str, list[tuple[str, Convert]]] = {
    "Patient": [("patient", lambda o, _c: patient_from_rest(o, today=today()))],
    "Practitioner": [("provider", lambda o, _c: practitioner_from_rest(o))],
    "Location": [("location", lambda o, _c: location_from_rest(o))],
    "Encounter": [
        ("encounter", lambda o, _c: encounter_from_rest(o)),
        ("visit", lambda o, _c: visit_from_rest(o)),
    ],
    "MedicationRequest": [("order", lambda o, _c: order_from_rest(o, now=utc_now()))],
    "ServiceRequest": [("order", lambda o, _c: order_from_rest(o, now=utc_now()))],
    "Condition": [
        ("condition", lambda o, c: condition_from_rest(o, c.user_names([o]))),
        ("patientdiagnoses", lambda o, c: diagnosis_from_rest(o, c.user_names([o]))),
    ],
    "MedicationDispense": [("medicationdispense", lambda o, _c: dispense_from_rest(o))],
}

#: REST kind -> (patient parameter, other parameters) of the search that lists a patient's
#: live objects of that kind, every one (a condition search lists active ones by default)
BY_PATIENT: dict[str, tuple[str, dict[str, str]]] = {
    "encounter": ("patient", {}),
    "visit": ("patient", {}),
    "condition": ("patientUuid", {"includeInactive": "true"}),
    "patientdiagnoses": ("patientUuid", {}),
    "medicationdispense": ("patient", {}),
}


def utc_now() -> datetime:
    """Naive UTC now: order statuses are read against the clock, as fhir2 reads them."""
    return datetime.now(UTC).replace(tzinfo=None)


def _failure(resource_type: str, uuid: str, exc: Exception) -> Failure:
    return Failure(
        error=f"{resource_type}/{uuid} (REST): {exc}",
        resource_type=resource_type,
        uuid=uuid,
        payload_ref=f"{resource_type}/{uuid}",
    )


def fetch(
    client: RestClient, resource_type: str, uuids: Iterable[str], hints: Hints
) -> FetchResult:
    """Current state of ``uuids``; an unreadable or malformed one is a failure, the rest go on."""
    wanted = list(dict.fromkeys(uuids))
    if resource_type == "Observation":
        return _fetch_obs(client, wanted, hints)
    if resource_type == "AllergyIntolerance":
        return _fetch_allergies(client, wanted, hints)
    result = FetchResult()
    kinds = KINDS.get(resource_type)
    if kinds is None:
        for uuid in wanted:
            error = ValueError(f"the REST source does not read {resource_type}")
            result.failures.append(_failure(resource_type, uuid, error))
        return result
    pending = dict.fromkeys(wanted)
    while pending:
        uuid = next(iter(pending))
        pending.pop(uuid)
        first = "visit" if uuid in hints.visits else None
        first = "patientdiagnoses" if uuid in hints.diagnoses else first
        order = sorted(kinds, key=lambda k: k[0] != first) if first else kinds
        try:
            _fetch_one(client, resource_type, uuid, order, result, pending, hints)
        except _READ_ERRORS as exc:
            result.failures.append(_failure(resource_type, uuid, exc))
        for done in [u for u in pending if u in result.found]:
            pending.pop(done)
    return result


def _fetch_one(
    client: RestClient,
    resource_type: str,
    uuid: str,
    kinds: list[tuple[str, Convert]],
    result: FetchResult,
    pending: dict[str, None],
    hints: Hints,
) -> None:
    """Read one object and, by one search, its patient's other pending ones where the API
    lists a patient's objects of that kind (:data:`BY_PATIENT`)."""
    for kind, convert in kinds:
        _status, body = client.read(kind, uuid)
        if body is None:
            continue
        if is_voided(body):
            reason = "retired" if body.get("retired") is True else "voided"
            result.gone.append(Gone(resource_type, uuid, reason))
            return
        siblings = [body]
        patient = uuid_of(body.get("patient"))
        if kind in BY_PATIENT and patient and pending:
            key, extra = BY_PATIENT[kind]
            siblings.extend(client.search(kind, {key: patient, **extra}))
        for item in siblings:
            item_uuid = uuid_of(item)
            if item_uuid == uuid or (item_uuid in pending and not is_voided(item)):
                result.found.setdefault(str(item_uuid), convert(item, client))
                hints.remember_obs(_dicts(item.get("obs")), item_uuid)
        return
    result.gone.append(Gone(resource_type, uuid, "deleted"))


def _dicts(value: Any) -> list[JSON]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _fetch_obs(client: RestClient, wanted: list[str], hints: Hints) -> FetchResult:
    result = FetchResult()
    pending = dict.fromkeys(wanted)
    while pending:
        uuid = next(iter(pending))
        pending.pop(uuid)
        try:
            _obs_batch(client, uuid, pending, hints, result)
        except _READ_ERRORS as exc:
            result.failures.append(_failure("Observation", uuid, exc))
        settled = result.found.keys() | {g.uuid for g in result.gone}
        for done in [u for u in pending if u in settled]:
            pending.pop(done)
    return result


def _obs_batch(
    client: RestClient, uuid: str, pending: dict[str, None], hints: Hints, result: FetchResult
) -> None:
    """``uuid`` and its pending siblings: one search when its encounter is known, else a read
    first; an obs the search leaves out (voided, deleted, moved) is then read by uuid."""
    encounter = hints.obs_encounter.get(uuid)
    trees: list[JSON] = []
    if encounter is None or not pending:
        _status, body = client.read("obs", uuid)
        if body is None:
            result.gone.append(Gone("Observation", uuid, "deleted"))
            return
        trees.append(body)
        encounter = uuid_of(body.get("encounter")) if not is_voided(body) else None
    if encounter and pending:
        trees.extend(client.search("obs", {"encounter": encounter}))
    hints.remember_obs(trees)
    _take(client, trees, {uuid, *pending}, result)
    if uuid not in result.found and not any(g.uuid == uuid for g in result.gone):
        _status, body = client.read("obs", uuid)  # known encounter, not among its live obs
        if body is None:
            result.gone.append(Gone("Observation", uuid, "deleted"))
        else:
            _take(client, [body], {uuid}, result)


def _take(client: RestClient, trees: list[JSON], wanted: set[str], result: FetchResult) -> None:
    """Map obs trees and keep the wanted ones (found, or gone when voided)."""
    concepts = client.concepts(concept_uuids(trees))
    read = observations_from_rest(trees, concepts)
    for resource in read.resources:
        if resource["id"] in wanted:
            result.found.setdefault(resource["id"], resource)
    gone = {g.uuid for g in result.gone}
    for uuid in read.voided:
        if uuid in wanted and uuid not in result.found and uuid not in gone:
            result.gone.append(Gone("Observation", uuid, "voided"))


def _fetch_allergies(client: RestClient, wanted: list[str], hints: Hints) -> FetchResult:
    """``patient/{p}/allergy/{uuid}``: the patient comes from the feed entry's path."""
    result = FetchResult()
    for uuid in wanted:
        patient = hints.allergy_patient.get(uuid)
        try:
            if patient is None:
                msg = "an allergy is read below its patient, and its feed entry named none"
                raise RestShapeError(msg)
            _status, body = client.read(f"patient/{patient}/allergy", uuid)
            if body is None:
                result.gone.append(Gone("AllergyIntolerance", uuid, "deleted"))
            elif is_voided(body):
                result.gone.append(Gone("AllergyIntolerance", uuid, "voided"))
            else:
                users = client.user_names([body])
                result.found[uuid] = allergy_from_rest(
                    body, now=utc_now(), patient_uuid=patient, users=users
                )
        except _READ_ERRORS as exc:
            result.failures.append(_failure("AllergyIntolerance", uuid, exc))
    return result
