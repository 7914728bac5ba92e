"""Look-ups of a window done before the pipeline takes its apply lock.

Observations need their encounter (doctor, facility) and their patient (national ID); so do
allergies, conditions, orders, dispenses and reports; and a Practitioner or Location referenced
without a display is read by id (``_references``). Fetching
those while holding the lock that serialises patient merges would let one slow or hung hospital
stall every other; so they are fetched first, outside the lock, and handed to ``prepare`` through
a source wrapper that answers ``fetch`` from them. Anything not fetched ahead (a stale hint) is
fetched as before.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from typing import Any

from mappers import ref_id
from mappers.documents import RECORD_RESOURCE_TYPES

from ..sources import FetchResult, Source, SourceBatch
from ..store import PassportStore
from .references import NameCache, hold_back, resolve_references

#: types whose doctor and facility may come from their encounter, and that belong to a patient
WITH_ENCOUNTER = frozenset(RECORD_RESOURCE_TYPES) - {"Encounter"}


def encounter_ref(resource: dict[str, Any]) -> str | None:
    """The encounter a resource belongs to: R4 ``encounter``, or ``context`` (a dispense, and
    STU3 shapes)."""
    return ref_id(resource.get("encounter"), "Encounter") or ref_id(
        resource.get("context"), "Encounter"
    )


class Prefetched(Source):
    """``source``, with some ``fetch`` answers already in hand."""

    def __init__(self, source: Source, answers: dict[str, FetchResult]) -> None:
        self._source = source
        self._answers = answers
        self.id = source.id
        self.name = source.name
        self.concurrent_reads = source.concurrent_reads
        self.config = source.config
        self.breaker = source.breaker

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
    source: Source,
    batch: SourceBatch,
    store: PassportStore,
    known_encounters: Container[str],
    names: NameCache | None = None,
    linked: set[str] | None = None,
) -> Source:
    """Fetch, outside any lock, the encounters, patients, practitioners and locations
    ``batch`` points at and the passport does not hold yet; return a source that answers those
    from memory. Resources whose practitioner or location cannot be read leave the batch for
    its failures.

    ``linked`` holds source patients already seen linked (and gains those found now): a window
    of observations points at the same few patients as the last one, so asking the store again
    each window cost more than the rest of this step. It is only a hint: a patient unlinked
    since is found missing by the match stage, which fetches it then.
    """
    in_batch = {(r.get("resourceType"), r.get("id")) for r in batch.resources}
    encounters: set[str] = set()
    patients: set[str] = set()
    for resource in batch.resources:
        rtype = str(resource.get("resourceType"))  # any JSON value: a malformed one fails later
        if rtype in WITH_ENCOUNTER:
            enc = encounter_ref(resource)
            if enc and ("Encounter", enc) not in in_batch:
                encounters.add(enc)
        if rtype in WITH_ENCOUNTER or rtype == "Encounter":
            patient = ref_id(resource.get("subject")) or ref_id(resource.get("patient"))
            if patient and ("Patient", patient) not in in_batch:
                patients.add(patient)
    # not ``set(known_encounters)``: the cache holds up to 200,000 encounters, and copying it
    # for every window made this step grow with the passport
    encounters = {e for e in encounters if e not in known_encounters}
    if encounters:
        encounters -= set(store.get_records(source.id, "Encounter", encounters))
    if linked is not None:
        patients = {p for p in patients if p not in linked}
    if patients:
        found = store.patient_links(source.id, patients)
        patients -= set(found)
        if linked is not None:
            linked.update(found)
    answers: dict[str, FetchResult] = {}
    if encounters:
        answers["Encounter"] = source.fetch("Encounter", encounters)
    if patients:
        answers["Patient"] = source.fetch("Patient", patients)
    _resolve_names(source, batch, store, names if names is not None else {}, answers)
    return Prefetched(source, answers) if answers else source


def _resolve_names(
    source: Source,
    batch: SourceBatch,
    store: PassportStore,
    names: NameCache,
    answers: dict[str, FetchResult],
) -> None:
    """Fill bare Practitioner / Location references of the batch and of its fetched
    encounters; what cannot be resolved fails (an encounter: as a failed look-up, so its
    observations fail with it rather than lose their doctor)."""
    looked_up = answers.get("Encounter")
    extra = list(looked_up.found.values()) if looked_up is not None else []
    fetched, unresolved = resolve_references(
        source, batch.resources, store, names, extra, edited=batch.forget_hash
    )
    if not fetched and not unresolved:
        return
    batch.resources.extend(fetched)
    batch.resources[:], failures = hold_back(batch.resources, unresolved)
    batch.failures.extend(failures)
    held = [f for f in failures if f.resource_type == "Encounter"]
    if looked_up is not None:
        kept, more = hold_back(extra, unresolved)
        ids = {r.get("id") for r in kept}
        looked_up.found = {u: r for u, r in looked_up.found.items() if u in ids}
        held += more
    if held:  # observations of these encounters must see them as unreadable
        answer = answers.setdefault("Encounter", FetchResult())
        answer.failures.extend(held)
