"""Look-ups of a window done before the pipeline takes its apply lock.

Observations need their encounter (doctor, facility) and their patient (national ID). Fetching
those while holding the lock that serialises patient merges would let one slow or hung hospital
stall every other; so they are fetched first, outside the lock, and handed to ``prepare`` through
a source wrapper that answers ``fetch`` from them. Anything not fetched ahead (a stale hint) is
fetched as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mappers import ref_id

from .sources._base import FetchResult, Source, SourceBatch
from .store import PassportStore


class Prefetched(Source):
    """``source``, with some ``fetch`` answers already in hand."""

    def __init__(self, source: Source, answers: dict[str, FetchResult]) -> None:
        self._source = source
        self._answers = answers
        self.id = source.id
        self.name = source.name
        self.concurrent_reads = source.concurrent_reads

    def __getattr__(self, name: str) -> Any:  # config, breaker, ... of the real source
        return getattr(self._source, name)

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        wanted = list(dict.fromkeys(uuids))
        answer = self._answers.get(resource_type)
        if answer is not None:
            known = set(answer.found) | {g.uuid for g in answer.gone}
            known |= {f.uuid for f in answer.failures if f.uuid}
            if set(wanted) <= known:
                ids = set(wanted)
                return FetchResult(
                    found={u: r for u, r in answer.found.items() if u in ids},
                    gone=[g for g in answer.gone if g.uuid in ids],
                    failures=[f for f in answer.failures if f.uuid in ids],
                )
        return self._source.fetch(resource_type, wanted)

    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        return self._source.batches(cursors)

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        return self._source.patient_history(patient_uuid)

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        return self._source.find_patients(identifier)

    def close(self) -> None:
        self._source.close()


def prefetch_lookups(
    source: Source, batch: SourceBatch, store: PassportStore, known_encounters: Iterable[str]
) -> Source:
    """Fetch, outside any lock, the encounters and patients ``batch`` points at and the
    passport does not hold yet; return a source that answers those from memory."""
    in_batch = {(r.get("resourceType"), r.get("id")) for r in batch.resources}
    encounters: set[str] = set()
    patients: set[str] = set()
    for resource in batch.resources:
        rtype = resource.get("resourceType")
        if rtype == "Observation":
            enc = ref_id(resource.get("encounter"))
            if enc and ("Encounter", enc) not in in_batch:
                encounters.add(enc)
        if rtype in ("Observation", "Encounter"):
            patient = ref_id(resource.get("subject"))
            if patient and ("Patient", patient) not in in_batch:
                patients.add(patient)
    encounters -= set(known_encounters)
    if encounters:
        encounters -= set(store.get_records(source.id, "Encounter", encounters))
    if patients:
        patients -= set(store.patient_links(source.id, patients))
    answers: dict[str, FetchResult] = {}
    if encounters:
        answers["Encounter"] = source.fetch("Encounter", encounters)
    if patients:
        answers["Patient"] = source.fetch("Patient", patients)
    return Prefetched(source, answers) if answers else source
