"""The FHIR face reads the same passport the same way on every store backend.

One set of simulated hospitals is synced into a SQLite and a MongoDB (mongomock) passport; the
reader's answers must name the same resources, page by page to the end, on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sync2.demo import config_for_servers
from sync2.faces._query import parse_search
from sync2.faces._reader import FhirReader
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import PassportStore, open_store


@pytest.fixture(scope="module")
def passports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PassportStore]]:
    hospitals = generate_hospitals(n=2, patients=4, obs_per_patient=3, seed=21)
    folder: Path = tmp_path_factory.mktemp("backends")
    urls = {"sqlite": f"sqlite:///{folder / 'p.db'}", "mongomock": "mongomock://faces_parity"}
    stores: dict[str, PassportStore] = {}
    with serve_hospitals(hospitals) as servers:
        for name, url in urls.items():
            config = config_for_servers(servers, url)
            store = open_store(url)
            pipeline = Pipeline(config, store)
            for source in config.sources:
                assert pipeline.sync_source(source.id).ok
            pipeline.close()
            stores[name] = store
    yield stores
    for store in stores.values():
        store.close()


def _all_pages(store: PassportStore, rtype: str, params: list[tuple[str, str]]) -> list[Any]:
    reader = FhirReader(store, {})
    query = parse_search(rtype, [*params, ("_count", "3")], rtype != "Patient")
    out: list[Any] = []
    while True:
        page = reader.search(query, None)
        out += [(r["id"], r["meta"]["source"], r.get("status")) for r in page.resources]
        if page.next_key is None:
            return out
        query = replace(query, after=page.next_key)


@pytest.mark.parametrize(
    ("rtype", "params"),
    [
        ("Observation", []),
        ("Encounter", []),
        ("Patient", []),
        ("Observation", [("_lastUpdated", "ge2000")]),
    ],
)
def test_same_answers_on_sqlite_and_mongodb(
    passports: dict[str, PassportStore], rtype: str, params: list[tuple[str, str]]
) -> None:
    sqlite = _all_pages(passports["sqlite"], rtype, params)
    mongo = _all_pages(passports["mongomock"], rtype, params)
    assert sorted(sqlite) == sorted(mongo)
    assert len(sqlite) == len(set(sqlite)) > 0
