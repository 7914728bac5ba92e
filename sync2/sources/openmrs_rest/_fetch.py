"""Current state of changed objects through REST, as fhir2-shaped resources.

A read by uuid returns voided objects too, so a void shows as ``voided: true`` (a deleted object
as 404): both become :class:`Gone`. Obs are batched where the API allows: after one obs is read
by uuid, ``obs?encounter=`` brings its siblings (all the live obs of that encounter) in one
request, so an encounter's worth of feed entries costs two requests, not one each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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

from ..._errors import BadResponseError, TransientSourceError
from .._base import Failure, FetchResult, Gone
from ._client import RestClient

JSON = dict[str, Any]
_READ_ERRORS = (TransientSourceError, BadResponseError, RestShapeError)


def today() -> date:
    return datetime.now(UTC).date()


#: FHIR type -> [(REST kind, converter)], tried in order (a FHIR Encounter is an encounter or a
#: visit; the feed entry's category is not kept past the window, so a visit costs one 404 first)
KINDS: dict[str, list[tuple[str, Callable[[JSON], JSON]]]] = {
    "Patient": [("patient", lambda o: patient_from_rest(o, today=today()))],
    "Practitioner": [("provider", practitioner_from_rest)],
    "Location": [("location", location_from_rest)],
    "Encounter": [("encounter", encounter_from_rest), ("visit", visit_from_rest)],
}


def _failure(resource_type: str, uuid: str, exc: Exception) -> Failure:
    return Failure(
        error=f"{resource_type}/{uuid} (REST): {exc}",
        resource_type=resource_type,
        uuid=uuid,
        payload_ref=f"{resource_type}/{uuid}",
    )


def fetch(client: RestClient, resource_type: str, uuids: Iterable[str]) -> FetchResult:
    """Current state of ``uuids``; an unreadable or malformed one is a failure, the rest go on."""
    wanted = list(dict.fromkeys(uuids))
    if resource_type == "Observation":
        return _fetch_obs(client, wanted)
    result = FetchResult()
    kinds = KINDS.get(resource_type)
    if kinds is None:
        for uuid in wanted:
            error = ValueError(f"the REST source does not read {resource_type}")
            result.failures.append(_failure(resource_type, uuid, error))
        return result
    for uuid in wanted:
        try:
            _fetch_one(client, resource_type, uuid, kinds, result)
        except _READ_ERRORS as exc:
            result.failures.append(_failure(resource_type, uuid, exc))
    return result


def _fetch_one(
    client: RestClient,
    resource_type: str,
    uuid: str,
    kinds: list[tuple[str, Callable[[JSON], JSON]]],
    result: FetchResult,
) -> None:
    for kind, convert in kinds:
        _status, body = client.read(kind, uuid)
        if body is None:
            continue
        if is_voided(body):
            reason = "retired" if body.get("retired") is True else "voided"
            result.gone.append(Gone(resource_type, uuid, reason))
        else:
            result.found[uuid] = convert(body)
        return
    result.gone.append(Gone(resource_type, uuid, "deleted"))


def _fetch_obs(client: RestClient, wanted: list[str]) -> FetchResult:
    result = FetchResult()
    pending = dict.fromkeys(wanted)
    while pending:
        uuid = next(iter(pending))
        pending.pop(uuid)
        try:
            _status, body = client.read("obs", uuid)
            if body is None:
                result.gone.append(Gone("Observation", uuid, "deleted"))
                continue
            trees = [body]
            encounter = uuid_of(body.get("encounter"))
            if encounter and pending and not is_voided(body):
                trees.extend(client.search("obs", {"encounter": encounter}))
            _take(client, trees, {uuid, *pending}, result)
        except _READ_ERRORS as exc:
            result.failures.append(_failure("Observation", uuid, exc))
            continue
        for done in [u for u in pending if u in result.found]:
            pending.pop(done)
    return result


def _take(client: RestClient, trees: list[JSON], wanted: set[str], result: FetchResult) -> None:
    """Map obs trees and keep the wanted ones (found, or gone when voided)."""
    concepts = client.concepts(concept_uuids(trees))
    read = observations_from_rest(trees, concepts)
    for resource in read.resources:
        if resource["id"] in wanted:
            result.found.setdefault(resource["id"], resource)
    for uuid in read.voided:
        if uuid in wanted and uuid not in result.found:
            result.gone.append(Gone("Observation", uuid, "voided"))
