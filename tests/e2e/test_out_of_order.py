"""A server that ignores ``_sort=_lastUpdated`` is refused at once, with the fix named: a
watermark over its unordered pages would skip records silently."""

from __future__ import annotations

from typing import Any

import pytest

from sync2.simulator import generate_hospitals, serve_hospitals


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"mode": "poll"}, id="poll"),
        pytest.param({"initial_sync": "snapshot"}, id="snapshot"),
    ],
)
def test_an_out_of_order_server_is_refused_and_nothing_is_stored(
    make_passport: Any, options: dict[str, Any]
) -> None:
    hospital = generate_hospitals(n=1, patients=6, obs_per_patient=4, seed=2)[0]
    patient = hospital.patients.rows[0].uuid
    for _ in range(3):
        hospital.add_allergy(patient)
    first = hospital.tables["AllergyIntolerance"].rows[0]
    hospital._clock = hospital.now() + 5  # seconds after every other allergy
    hospital.edit_allergy(first.uuid, comment="edited: now the newest, still the first row")
    hospital._clock = None
    hospital.ignore_sort = True
    with serve_hospitals([hospital]) as servers:
        _config, store, pipeline = make_passport(servers, feeds=["allergy"], **options)
        summary = pipeline.sync_source(hospital.id)
    assert not summary.ok
    assert summary.error is not None
    assert "ignores _sort=_lastUpdated" in summary.error
    assert 'mode = "feed"' in summary.error and 'initial_sync = "feed"' in summary.error
    assert store.find_records(hospital.id, "AllergyIntolerance") == []
    assert not any(k.startswith(("poll:", "feed:")) and v.get("watermark")
                   for k, v in store.get_cursors(hospital.id).items())  # fmt: skip


def test_the_same_server_in_order_is_read_in_full(make_passport: Any) -> None:
    hospital = generate_hospitals(n=1, patients=6, obs_per_patient=4, seed=2)[0]
    patient = hospital.patients.rows[0].uuid
    for _ in range(3):
        hospital.add_allergy(patient)
    hospital.edit_allergy(hospital.tables["AllergyIntolerance"].rows[0].uuid, comment="edited")
    with serve_hospitals([hospital]) as servers:
        _config, store, pipeline = make_passport(servers, feeds=["allergy"], mode="poll")
        assert pipeline.sync_source(hospital.id).ok
    expected = {a["id"] for a in hospital.valid_resources("AllergyIntolerance")}
    assert {r["uuid"] for r in store.find_records(hospital.id, "AllergyIntolerance")} == expected
