"""The acceptance check: the fixture database synced through the real pipeline into SQLite."""

from __future__ import annotations

from datetime import date

import pytest

from sync2.config import Config, SourceConfig
from sync2.pipeline import Pipeline
from sync2.sources.mysql import MySQLSource
from sync2.store.sqlite import SQLiteStore

pytestmark = pytest.mark.mysql


def test_fixture_database_end_to_end_into_sqlite(openmrs, tmp_path):
    sc = SourceConfig(id="h1", name="Hospital 1", kind="openmrs-mysql", dsn=openmrs.dsn("omrs"))
    config = Config(sources=[sc], matching={"identifier_types": ["OpenMRS Identification Number"]})
    store = SQLiteStore(tmp_path / "passport.db")
    source = MySQLSource(sc, today=date(2024, 1, 1))
    summary = Pipeline(config, store, sources={"h1": source}).sync_source("h1")
    assert summary.ok, summary.error
    assert summary.written > 0
    docs = store.find_records("h1", "Observation")
    weight = next(d for d in docs if d["uuid"] == "2f616900-5e7c-4667-9a7f-dcb260abf1de")
    assert weight["name"] == "Weight"
    assert (weight["value"], weight["unit"]) in (("55", "kg"), ("55.0", "kg"), (55, "kg"))
    assert any(c.get("code") == "5089" for c in weight["codes"])
    again = Pipeline(config, store, sources={"h1": source}).sync_source("h1")
    assert again.ok and again.written == 0  # cursors held: nothing delivered twice
    source.close()
