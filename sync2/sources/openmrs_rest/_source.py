"""An OpenMRS hospital without fhir2: the atom feed (either dialect) + REST ``/ws/rest/v1``.

Everything about the feed (windows, markers, catchment tags, dedup of repeated entries) is the
atom-feed source's; only how a changed object is read differs, so this source inherits the feed
walking and replaces the fetch. REST has no ``_lastUpdated`` search, so a first sync walks the
feed from its first page: there is no snapshot and no polling here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mappers.openmrs_rest import (
    concept_uuids,
    encounter_from_rest,
    is_voided,
    observations_from_rest,
    patient_from_rest,
    visit_from_rest,
)
from mappers.openmrs_rest_clinical import allergy_from_rest, order_from_rest
from mappers.openmrs_rest_history import (
    condition_from_rest,
    diagnosis_from_rest,
    dispense_from_rest,
)

from ...config import HttpConfig, SourceConfig
from .._base import Failure, FetchResult, SourceBatch
from ..atomfeed import ChangeEvent, Marker
from ..breaker import CircuitBreaker
from ..http import HttpTransport
from ..openmrs_fhir import OpenMRSFhirSource, TagFilter
from . import _fetch
from ._client import RestClient
from ._session import SessionAuth

JSON = dict[str, Any]


class OpenMRSRestSource(OpenMRSFhirSource):
    """Atom feed + REST source (``kind = "openmrs-rest"``)."""

    fetch_path = "rest"

    def __init__(
        self,
        config: SourceConfig,
        http: HttpConfig | None = None,
        *,
        transport: HttpTransport | None = None,
        window: int = 100,
        tag_filter: TagFilter | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        feed_only = config.model_copy(update={"mode": "feed", "initial_sync": "feed"})
        if transport is None and config.auth == "session":
            transport = session_transport(config, http, breaker)
        super().__init__(
            feed_only,
            http,
            transport=transport,
            window=window,
            tag_filter=tag_filter,
            breaker=breaker,
        )
        self.rest = RestClient(self.transport)
        self.hints = _fetch.Hints()

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        return _fetch.fetch(self.rest, resource_type, uuids, self.hints)

    def _window(
        self,
        stream: str,
        events: list[ChangeEvent],
        failures: list[Failure],
        skipped: int,
        notes: list[str],
        marker: Marker | None,
    ) -> SourceBatch:
        """Note which Encounters are visits and which Conditions diagnoses (the feed category
        says so) and whose allergies the allergy entries are (their paths say so) before
        fetching."""
        self.hints.visits.update(e.uuid for e in events if e.category == "visit")
        self.hints.diagnoses.update(e.uuid for e in events if e.category == "diagnosis")
        for event in events:
            if event.resource_type == "AllergyIntolerance" and event.parent_uuid:
                self.hints.allergy_patient[event.uuid] = event.parent_uuid
        return super()._window(stream, events, failures, skipped, notes, marker)

    def patient_history(self, patient_uuid: str) -> Iterator[JSON]:
        _status, patient = self.rest.read("patient", patient_uuid)
        if patient is None or patient.get("voided") is True:
            return
        yield patient_from_rest(patient, today=_fetch.today())
        for visit in self.rest.search("visit", {"patient": patient_uuid}):
            yield visit_from_rest(visit)
        encounters = list(self.rest.search("encounter", {"patient": patient_uuid}))
        for encounter in encounters:
            yield encounter_from_rest(encounter)
        trees = [o for e in encounters for o in e.get("obs") or [] if isinstance(o, dict)]
        yield from observations_from_rest(trees, self.rest.concepts(concept_uuids(trees))).resources
        yield from self._clinical_history(patient_uuid)

    def _clinical_history(self, patient: str) -> Iterator[JSON]:
        """Allergies, conditions, diagnoses, orders (every one, stopped too) and dispenses of
        one patient; a server older than a resource (404) has none of it."""
        rest, now = self.rest, _fetch.utc_now()
        allergies = _live(rest.search(f"patient/{patient}/allergy", {}, missing_ok=True))
        every = {"patientUuid": patient, "includeInactive": "true"}
        conditions = _live(rest.search("condition", every, missing_ok=True))
        diagnoses = _live(
            rest.search("patientdiagnoses", {"patientUuid": patient}, missing_ok=True)
        )
        users = rest.user_names(allergies + conditions + diagnoses)
        for allergy in allergies:
            yield allergy_from_rest(allergy, now=now, patient_uuid=patient, users=users)
        yield from (condition_from_rest(c, users) for c in conditions)
        yield from (diagnosis_from_rest(d, users) for d in diagnoses)
        for setting in _live(rest.search("caresetting", {}, missing_ok=True)):
            query = {"patient": patient, "status": "any", "careSetting": setting["uuid"]}
            yield from (order_from_rest(o, now=now) for o in _live(rest.search("order", query)))
        dispenses = rest.search("medicationdispense", {"patient": patient}, missing_ok=True)
        yield from (dispense_from_rest(d) for d in _live(dispenses))

    def find_patients(self, identifier: str) -> list[JSON]:
        return [
            patient_from_rest(p, today=_fetch.today())
            for p in self.rest.search("patient", {"identifier": identifier})
            if p.get("voided") is not True
        ]


def session_transport(
    config: SourceConfig, http: HttpConfig | None, breaker: CircuitBreaker | None
) -> HttpTransport:
    """A transport that signs in once (``GET /session``) and then sends the session cookie."""
    assert config.base_url and config.username and config.password  # validated by SourceConfig
    auth = SessionAuth(config.base_url, config.username, config.password.get_secret_value())
    return HttpTransport(
        config.base_url,
        auth=auth,
        config=http,
        breaker=breaker or CircuitBreaker(config.id),
    )


def _live(objects: Iterable[JSON]) -> list[JSON]:
    """Searches leave voided objects out; a server that lists them anyway is not believed."""
    return [o for o in objects if not is_voided(o) and isinstance(o.get("uuid"), str)]
