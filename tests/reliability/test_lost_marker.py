"""Lost marker: the marker's entry (or its whole page) is gone after a feed rebuild or a server
move. The source recovers with a bounded, idempotent re-read, audits it, and does not abort."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import Cursor
from tests.conftest import passport_rows, simulator_mismatches


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    with serve_hospitals(generate_hospitals(n=1, patients=8, obs_per_patient=5, seed=6)) as s:
        yield s


@pytest.mark.parametrize(
    "lose",
    ["entry", "page"],
    ids=["entry-gone-from-its-page", "page-gone"],
)
def test_lost_marker_is_recovered_idempotently_and_audited(
    servers: list[Any], make_passport: Any, lose: str
) -> None:
    config, store, pipeline = make_passport(servers, fast=True, initial_sync="feed")
    assert all(s.ok for s in pipeline.sync_all())
    before = passport_rows(store, config)
    counts = store.counts()
    source_id = servers[0].hospital.id
    stream = "feed:observation"
    marker = dict(store.get_cursor(source_id, stream)["marker"])
    if lose == "entry":  # feed rebuilt: same page, entry ids renumbered
        marker["entry_id"] = "tag:atomfeed.ict4h.org:00000000-0000-0000-0000-000000000000"
    else:  # server moved / feed truncated: the page itself is gone (404)
        marker["page_url"] = marker["page_url"].rsplit("/", 1)[0] + "/99999"
    store.set_cursor(Cursor(source_id, stream, {"phase": "feed", "marker": marker}))
    new_obs = servers[0].hospital.add_random_observations(3)

    summary = pipeline.sync_source(source_id)
    assert summary.ok, summary.error
    lost = store.list_audit(kind="lost-marker", source=source_id)
    assert len(lost) == 1 and marker["entry_id"] in lost[0].message
    assert "re-reading" in lost[0].message
    after = passport_rows(store, config)
    assert set(before) <= set(after), "nothing lost, nothing changed"
    assert simulator_mismatches(store, servers, ("Observation", "Encounter")) == {}
    clean_config, clean_store, clean = make_passport(servers, "clean", fast=True)
    assert all(s.ok for s in clean.sync_all())
    assert after == passport_rows(clean_store, clean_config), "same as a run with no lost marker"
    assert set(new_obs) <= {row[2] for row in after}
    assert len({row[:3] for row in after}) == len(after), "no duplicates"
    assert store.counts()["patients"] == counts["patients"]
    new_marker = store.get_cursor(source_id, stream)["marker"]
    assert new_marker["entry_id"] != marker["entry_id"], "the marker moved to a real entry"
    again = pipeline.sync_source(source_id)
    assert again.ok and again.written == 0
    assert len(store.list_audit(kind="lost-marker", source=source_id)) == 1, "recovered once"
