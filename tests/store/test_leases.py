"""Scale-out: workers share sources through leases; no source is synced twice at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sync2.store import PassportStore, open_store
from sync2.store._leases import LeaseKeeper, lease_name, worker_id

SOURCES = ("hospital-a", "hospital-b", "hospital-c", "hospital-d")


def test_three_workers_never_sync_one_source_at_once(store_url: str) -> None:
    """Three workers, each with its own store connection, race for four sources."""
    stores = [open_store(store_url) for _ in range(3)]
    active: dict[str, str] = {}
    overlaps: list[tuple[str, str, str]] = []
    syncs: list[tuple[str, str]] = []
    guard = threading.Lock()
    deadline = time.monotonic() + 0.8
    errors: list[BaseException] = []

    def work(store: PassportStore, me: str) -> None:
        try:
            while time.monotonic() < deadline:
                for source in SOURCES:
                    keeper = LeaseKeeper(store, lease_name(source), owner=me, ttl_seconds=5)
                    if not keeper.acquire():
                        continue
                    with keeper:
                        with guard:
                            if source in active:
                                overlaps.append((source, active[source], me))
                            active[source] = me
                        time.sleep(0.005)  # "sync" the source
                        with guard:
                            del active[source]
                            syncs.append((source, me))
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(s, f"worker-{i}")) for i, s in enumerate(stores)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=10)
    finally:
        for s in stores[1:]:
            s.close()
        stores[0].close()
    assert errors == []
    assert overlaps == []
    assert {source for source, _ in syncs} == set(SOURCES)
    assert len({me for _, me in syncs}) >= 2  # the sources really were shared


def test_a_dead_workers_source_is_taken_over_after_its_lease_expires(store_url: str) -> None:
    alive, other = open_store(store_url), open_store(store_url)
    try:
        # worker-dead takes the source and then stops (no renewals, no release)
        assert alive.acquire_lease(lease_name("hospital-a"), "worker-dead", 0.3)
        survivor = LeaseKeeper(other, lease_name("hospital-a"), owner="worker-2", ttl_seconds=5)
        assert not survivor.acquire()
        time.sleep(0.4)
        assert survivor.acquire()
        assert not alive.renew_lease(lease_name("hospital-a"), "worker-dead", 0.3)
        survivor.release()
    finally:
        other.close()
        alive.close()


def test_keeper_renews_in_the_background_and_reports_loss(store_url: str) -> None:
    store, rival = open_store(store_url), open_store(store_url)
    try:
        keeper = LeaseKeeper(
            store, "source:x", owner=worker_id(), ttl_seconds=0.3, renew_every=0.05
        )
        with keeper:
            time.sleep(0.5)  # longer than the ttl: only renewals keep it
            assert keeper.held
            assert not rival.acquire_lease("source:x", "rival", 5)
            # an admin clears the lease and a rival takes the source
            rival.release_lease("source:x", keeper.owner)
            assert rival.acquire_lease("source:x", "rival", 5)
            for _ in range(40):
                if keeper.lost:
                    break
                time.sleep(0.025)
            assert keeper.lost
            assert not keeper.held
        # leaving the block must not release the rival's lease
        assert not store.acquire_lease("source:x", "third", 5)
    finally:
        rival.close()
        store.close()


def test_keeper_refuses_a_non_positive_ttl(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with pytest.raises(ValueError, match="ttl_seconds"):
            LeaseKeeper(store, "source:x", owner="w", ttl_seconds=0)
    finally:
        store.close()
