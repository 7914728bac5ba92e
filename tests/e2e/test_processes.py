"""A backfill spread over worker processes gives the same passport as one process."""

from __future__ import annotations

from typing import Any

from tests.conftest import passport_rows


def test_worker_processes_give_the_same_passport(servers: list[Any], make_passport: Any) -> None:
    config_a, store_a, threads = make_passport(servers, name="threads")
    config_b, store_b, workers = make_passport(servers, name="processes")
    assert all(s.ok for s in threads.sync_all(concurrency=3))
    summaries = workers.sync_all(processes=2)
    assert [s.source for s in summaries] == [s.id for s in config_b.sources]
    assert all(s.ok for s in summaries) and sum(s.written for s in summaries) > 0
    assert passport_rows(store_b, config_b) == passport_rows(store_a, config_a)
    for sc in config_a.sources:
        assert store_b.get_cursors(sc.id) == store_a.get_cursors(sc.id)
