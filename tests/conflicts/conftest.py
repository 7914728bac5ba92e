"""A tiny in-memory hospital and a passport on each store backend, for the engine-level conflict
tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from sync2.config import Config, parse_config
from sync2.pipeline import Pipeline
from sync2.sources import FetchResult, Source, SourceBatch
from sync2.store import PassportStore, open_store


class MemorySource(Source):
    """One hospital whose FHIR resources a test edits in place; ``sync()`` sends them all."""

    def __init__(self, source_id: str) -> None:
        self.id = source_id
        self.name = f"Hospital {source_id}"
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}

    def put(self, resource: dict[str, Any]) -> None:
        self.resources[(resource["resourceType"], resource["id"])] = copy.deepcopy(resource)

    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        yield SourceBatch(stream="all", cursor={}, resources=list(self.resources.values()))

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        found = {
            u: self.resources[(resource_type, u)]
            for u in uuids
            if (resource_type, u) in self.resources
        }
        return FetchResult(found=found)

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        yield from self.resources.values()

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        return [r for (t, _), r in self.resources.items() if t == "Patient"]


def patient(
    uuid: str,
    national_id: str,
    given: str,
    *,
    birth: str = "1990-01-02",
    updated: str = "2024-01-01T00:00:00+00:00",
    version: str = "1000",
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": uuid,
        "meta": {"versionId": version, "lastUpdated": updated},
        "identifier": [{"type": {"text": "National ID"}, "value": national_id}],
        "name": [{"family": "Doe", "given": [given]}],
        "gender": "female",
        "birthDate": birth,
    }


def observation(
    uuid: str,
    patient_uuid: str,
    value: float,
    *,
    unit: str = "kg",
    updated: str = "2024-01-01T00:00:00+00:00",
    version: str = "1000",
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": uuid,
        "meta": {"versionId": version, "lastUpdated": updated},
        "status": "final",
        "code": {
            "coding": [{"code": "5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "display": "Weight"}],
            "text": "Weight",
        },
        "subject": {"reference": f"Patient/{patient_uuid}"},
        "effectiveDateTime": "2024-01-01T10:00:00+00:00",
        "valueQuantity": {"value": value, "unit": unit},
    }


class Passport:
    """A pipeline over MemorySources, with the clock a test moves."""

    def __init__(
        self,
        store_url: str,
        conflicts: dict[str, Any],
        sources: list[str],
        priorities: dict[str, int] | None = None,
    ) -> None:
        self.now = 1_717_200_000.0  # 2024-06-01T00:00:00Z
        self.config: Config = parse_config(
            {
                "passport": {"store": store_url},
                "conflicts": conflicts,
                "sources": [
                    {
                        "id": s,
                        "name": f"Hospital {s}",
                        "base_url": f"http://127.0.0.1/{s}",
                        "priority": (priorities or {}).get(s, 100),
                    }
                    for s in sources
                ],
            },
            env={},
        )
        self.store: PassportStore = open_store(self.config.passport.store)
        self.hospitals = {s: MemorySource(s) for s in sources}
        self.pipeline = Pipeline(
            self.config, self.store, sources=dict(self.hospitals), clock=lambda: self.now
        )

    def sync(self, source_id: str = "h1") -> Any:
        return self.pipeline.sync_source(source_id)

    def record(self, uuid: str, source_id: str = "h1") -> dict[str, Any]:
        return self.store.get_records(source_id, "Observation", [uuid])[uuid]

    def audit_kinds(self) -> list[str]:
        return [e.kind for e in self.store.list_audit(limit=1000)]


@pytest.fixture
def make_passport(passport_url: Callable[..., str]) -> Iterator[Any]:
    made: list[Passport] = []

    def _make(
        conflicts: dict[str, Any] | None = None,
        sources: tuple[str, ...] = ("h1",),
        priorities: dict[str, int] | None = None,
    ) -> Passport:
        p = Passport(passport_url(), conflicts or {}, list(sources), priorities)
        made.append(p)
        return p

    yield _make
    for p in made:
        p.store.close()
