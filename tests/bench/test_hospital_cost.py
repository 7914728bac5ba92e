"""The new parts' instruments: (g)'s hospital-side counter and Sync 2.0 walk, (m)'s server URI.

The counter is checked against what a client received over real HTTP; the Sync 2.0 walk against
the feed lengths the hospital holds (5 entries a page, two GETs an entry, as the issue states).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from sync2.bench._simulators import CountingApp
from sync2.bench._sync20 import feed_marks, sync20_cost
from sync2.simulator import HospitalServer, generate_hospitals

FEEDS = ["patient", "encounter", "observation"]


@pytest.fixture
def server() -> Iterator[HospitalServer]:
    hospital = generate_hospitals(n=1, patients=6, obs_per_patient=8, seed=5, clinical=False)[0]
    server = HospitalServer(hospital)
    server.app = CountingApp(server.app)  # type: ignore[assignment]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_counter_counts_what_the_client_received(server: HospitalServer) -> None:
    auth = (server.username, server.password)
    received = 0
    with httpx.Client(auth=auth) as client:
        for path in (
            "/ws/atomfeed/observation/1",
            "/ws/atomfeed/patient/recent",
            "/ws/fhir2/R4/Observation?_count=7",
            "/ws/fhir2/R4/Patient/no-such-patient",
        ):
            received += len(client.get(server.url + path).content)
    counts = server.app.counts  # type: ignore[attr-defined]
    assert counts["requests"] == 4
    assert counts["feed_requests"] == 2 and counts["fhir_requests"] == 2
    assert counts["bytes"] == received
    assert counts["feed_bytes"] + counts["fhir_bytes"] == received


def test_the_sync20_walk_reads_every_page_and_two_gets_an_entry(server: HospitalServer) -> None:
    lengths = feed_marks(server.hospital)
    cost = sync20_cost(server, FEEDS)
    entries = sum(lengths[c] for c in FEEDS)
    pages = sum(math.ceil(lengths[c] / 5) for c in FEEDS)
    assert cost["entries"] == entries and cost["pages"] == pages
    assert cost["requests"] == pages + 2 * entries
    assert cost["bytes"] == cost["feed_bytes"] + cost["read_bytes"] > 0


def test_the_sync20_walk_after_a_mark_covers_only_the_new_entries(server: HospitalServer) -> None:
    marks = feed_marks(server.hospital)
    server.hospital.add_random_observations(7)
    after = feed_marks(server.hospital)
    cost = sync20_cost(server, FEEDS, since=marks)
    new = {c: after[c] - marks[c] for c in FEEDS}
    assert new["observation"] == 7
    assert cost["entries"] == sum(new.values())
    # the page holding the first new entry is read again, then every page after it
    pages = sum(math.ceil(after[c] / 5) - marks[c] // 5 for c in FEEDS if new[c])
    assert cost["pages"] == pages
    with httpx.Client() as client:  # the feed is open: a page's bytes are what a client gets
        last = client.get(
            f"{server.url}/ws/atomfeed/observation/{math.ceil(after['observation'] / 5)}"
        )
    assert cost["feed_bytes"] >= len(last.content) > 0


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "mongodb://u:p@db.example:27017/?tls=true",
            "mongodb://u:p@db.example:27017/bench?tls=true&authSource=admin",
        ),
        (
            "mongodb://u:p@db.example/passport?authSource=users",
            "mongodb://u:p@db.example/bench?authSource=users",
        ),
        ("mongodb://db.example/passport", "mongodb://db.example/bench?authSource=passport"),
    ],
)
def test_a_real_servers_uri_names_the_benchs_database_and_keeps_the_users(
    uri: str, expected: str
) -> None:
    from sync2.bench._mongo import with_database

    assert with_database(uri, "bench") == expected
