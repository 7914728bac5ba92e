"""A hospital stuck in a look-up holds up only itself, not the other hospitals' syncs."""

from __future__ import annotations

import threading
from typing import Any


def test_a_hung_lookup_does_not_hold_up_another_hospital(
    servers: list[Any], make_passport: Any
) -> None:
    _config, _store, pipeline = make_passport(
        servers[:2], feeds=["patient", "observation"], initial_sync="feed"
    )
    stuck, other = servers[0].hospital.id, servers[1].hospital.id
    source = pipeline.source(stuck)
    real_fetch = source.fetch
    entered, release = threading.Event(), threading.Event()

    def hung_fetch(resource_type: str, uuids: Any) -> Any:
        if resource_type == "Encounter":  # the obs' encounters: a look-up, not the feed
            entered.set()
            release.wait()
        return real_fetch(resource_type, uuids)

    source.fetch = hung_fetch  # type: ignore[method-assign]
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.setdefault(stuck, pipeline.sync_source(stuck)))
    first.start()
    try:
        assert entered.wait(30), "the stuck hospital reached its encounter look-up"
        done = threading.Event()
        second = threading.Thread(
            target=lambda: (results.setdefault(other, pipeline.sync_source(other)), done.set())
        )
        second.start()
        finished_while_stuck = done.wait(30)
    finally:
        release.set()
        first.join(60)
    second.join(60)
    assert finished_while_stuck, "the other hospital waited for the stuck one"
    assert results[other].ok and results[other].written > 0
    assert results[stuck].ok
