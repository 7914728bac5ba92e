"""The map stage: one batch of FHIR resources -> passport documents.

Observations and the other clinical records take their doctor and facility from their
encounter, so they are mapped in a second pass, once every encounter they point at is known
(from this batch, the encounter cache, the store, or a fetch). A record whose encounter cannot
be read fails rather than being stored without its doctor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mappers import (
    EncounterInfo,
    MappingContext,
    MappingError,
    encounter_info,
    map_resource,
)
from mappers.documents import DoctorDoc, LocationDoc, PatientDoc, RecordDoc

from ..config import Config
from ..sources import Source, SourceBatch
from ..store import PassportStore, WriteBatch
from .failures import FailedEvents
from .lookups import WITH_ENCOUNTER, encounter_ref

#: the encounters seen recently at one hospital (uuid -> doctor, facility, date)
EncounterCache = dict[str, EncounterInfo]

_TYPE_ORDER = {"Location": 0, "Practitioner": 1, "Patient": 2, "Encounter": 3, "Observation": 4}


def context_for(
    config: Config,
    source: Source,
    encounters: EncounterCache | None = None,
    memo: dict[Any, Any] | None = None,
) -> MappingContext:
    """A mapping context for one source; ``encounters`` is the dict the caller fills as it
    learns encounters (none known by default), ``memo`` the source's mapping memo (see
    :class:`mappers.MappingContext`; a fresh one by default)."""
    return MappingContext(
        source=source.id,
        hospital=source.name,
        identifier_types=tuple(config.matching.identifier_types),
        encounters=encounters if encounters is not None else {},
        memo=memo if memo is not None else {},
    )


def dedupe(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Last copy of each (type, id) wins; sorted so that what others point at comes first."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in resources:
        latest[(str(r.get("resourceType")), str(r.get("id")))] = r
    return sorted(latest.values(), key=lambda r: _TYPE_ORDER.get(str(r.get("resourceType")), 9))


def _key(resource: dict[str, Any]) -> tuple[str, str]:
    return (str(resource.get("resourceType")), str(resource.get("id")))


@dataclass(slots=True)
class Mapped:
    """The patients and records of one batch (doctors and locations go straight to the
    write batch: nothing downstream decides about them)."""

    patients: list[PatientDoc] = field(default_factory=list)
    records: list[RecordDoc] = field(default_factory=list)


class BatchMapper:
    """Maps batches of one pipeline; ``encounters`` gives the cache of one source."""

    def __init__(
        self,
        config: Config,
        store: PassportStore,
        failed: FailedEvents,
        encounters: Callable[[str], EncounterCache],
    ) -> None:
        self._config = config
        self._store = store
        self._failed = failed
        self._encounters = encounters
        #: per source: what the mappers work out once per concept (kept across batches)
        self._memos: dict[str, dict[Any, Any]] = {}

    def map(
        self,
        source: Source,
        sb: SourceBatch,
        resources: list[dict[str, Any]],
        wb: WriteBatch,
        open_keys: set[tuple[str, str]],
    ) -> Mapped:
        """Map ``resources`` (deduplicated) of ``sb``; what fails goes to ``wb.failed``."""
        known: EncounterCache = {}  # the encounters this batch's records may point at
        ctx = context_for(self._config, source, known, self._memos.setdefault(source.id, {}))
        out = Mapped()
        keyed = [(_key(r), r) for r in resources]
        self._map_independent(source, sb, keyed, ctx, known, wb, open_keys, out)
        dependent = {
            key: encounter_ref(r)
            for key, r in keyed
            if key[0] in WITH_ENCOUNTER and key not in open_keys
        }
        unreadable = self._load_encounter_context(source, dependent, ctx, known, out.records)
        self._map_dependent(source, sb, keyed, dependent, ctx, wb, open_keys, unreadable, out)
        return out

    def _map_independent(
        self,
        source: Source,
        sb: SourceBatch,
        keyed: list[tuple[tuple[str, str], dict[str, Any]]],
        ctx: MappingContext,
        known: EncounterCache,
        wb: WriteBatch,
        open_keys: set[tuple[str, str]],
        out: Mapped,
    ) -> None:
        """First pass: everything but the records that need their encounter; an encounter
        is only remembered here (mapped in the second pass, with the others)."""
        for key, resource in keyed:
            if key in open_keys:
                wb.failed.append(self._failed.blocked(source.id, sb.stream, key))
                continue
            try:
                if key[0] == "Encounter":
                    info = encounter_info(resource)
                    known[key[1]] = self._encounters(source.id)[key[1]] = info
                    continue
                if key[0] in WITH_ENCOUNTER:
                    continue
                doc = map_resource(resource, ctx, content_hash=sb.known_hash(resource))
            except MappingError as exc:
                wb.failed.append(self._failed.of_record(source.id, sb.stream, key, str(exc)))
                continue
            if isinstance(doc, PatientDoc):
                out.patients.append(doc)
            elif isinstance(doc, DoctorDoc):
                wb.doctors.append(doc)
            elif isinstance(doc, LocationDoc):
                wb.locations.append(doc)
            elif isinstance(doc, RecordDoc):
                out.records.append(doc)

    def _map_dependent(
        self,
        source: Source,
        sb: SourceBatch,
        keyed: list[tuple[tuple[str, str], dict[str, Any]]],
        dependent: dict[tuple[str, str], str | None],
        ctx: MappingContext,
        wb: WriteBatch,
        open_keys: set[tuple[str, str]],
        unreadable: dict[str, str],
        out: Mapped,
    ) -> None:
        """Second pass: encounters (those not blocked) and the ``dependent`` records, which
        take their doctor from their encounter (key -> encounter uuid)."""
        for key, resource in keyed:
            if key[0] == "Encounter":
                if key in open_keys:
                    continue
                enc = None
            elif key in dependent:
                enc = dependent[key]
            else:
                continue
            if enc in unreadable:  # mapped without its doctor and facility it would be wrong
                error = f"its Encounter/{enc} could not be read: {unreadable[enc]}"
                wb.failed.append(self._failed.of_record(source.id, sb.stream, key, error))
                continue
            try:
                doc = map_resource(resource, ctx, content_hash=sb.known_hash(resource))
            except MappingError as exc:
                wb.failed.append(self._failed.of_record(source.id, sb.stream, key, str(exc)))
                continue
            if isinstance(doc, RecordDoc):
                out.records.append(doc)

    def _load_encounter_context(
        self,
        source: Source,
        dependent: dict[tuple[str, str], str | None],
        ctx: MappingContext,
        known: EncounterCache,
        records: list[RecordDoc],
    ) -> dict[str, str]:
        """Doctor and facility of each dependent record (key -> its encounter's uuid) come from
        its encounter.

        Returns the encounters that could not be fetched (uuid -> error): their records
        become failed events rather than records without a doctor.
        """
        wanted = {ref for ref in dependent.values() if ref and ref not in ctx.encounters}
        cache = self._encounters(source.id)
        for uuid in list(wanted):
            if uuid in cache:
                known[uuid] = cache[uuid]
                wanted.discard(uuid)
        if not wanted:
            return {}
        for uuid, stored in self._store.get_records(source.id, "Encounter", wanted).items():
            known[uuid] = cache[uuid] = EncounterInfo(
                doctor=stored.get("doctor"),
                facility=stored.get("facility"),
                date=stored.get("effective"),
                visit_uuid=stored.get("encounter_uuid"),
            )
        missing = wanted - set(ctx.encounters)
        if not missing:
            return {}
        fetched = source.fetch("Encounter", missing)
        for uuid, resource in fetched.found.items():
            known[uuid] = cache[uuid] = encounter_info(resource)
            try:
                doc = map_resource(resource, ctx)
            except MappingError:
                continue
            if isinstance(doc, RecordDoc):
                records.append(doc)
        return {f.uuid: f.error for f in fetched.failures if f.uuid}
