"""The overview's lag (now minus the newest change synced) and a running sync's progress, in the
API, in the page over HTTP, and in real Chromium.

Expected values come from the simulated hospitals: the time of the newest feed entry each one
served (its own event list), its feed entry ids, and the records it holds. The run is held
after it stores the observation stream's last window, by the pipeline's own ``after_apply``
hook, which also counts the windows stored, so the progress is read at a known point.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync2.admin.status import ID_WATERMARK_STREAMS, parse_time
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.service import Service
from sync2.simulator._util import hashed_uuid
from sync2.sources import SourceBatch
from sync2.sources.mysql._changes import change_queries
from sync2.sources.mysql._schema import Schema
from sync2.store import Cursor, open_store

from .conftest import ADMIN_TOKEN, Site, TestClient, browser_sign_in, screenshot, sign_in, wait_for

#: The feeds ``config_for_servers`` syncs.
FEEDS = ("location", "patient", "visit", "encounter", "observation")
HELD_STREAM = "feed:observation"
API = "/api/openmrs-sync/status"


class Hold:
    """Stops the run that stores the observation stream's handover to the feed (the snapshot's
    last window), until released; counts every window stored before that."""

    def __init__(self) -> None:
        self.windows = 0
        self.held = threading.Event()
        self.go = threading.Event()
        self._done = False

    def after_apply(self, sb: SourceBatch) -> None:
        if self._done:
            return
        self.windows += 1
        if sb.stream == HELD_STREAM and sb.cursor.get("phase") == "feed":
            self._done = True  # only the first hospital's run is held
            self.held.set()
            self.go.wait(60)

    def release(self) -> None:
        self.go.set()


@pytest.fixture
def hold() -> Iterator[Hold]:
    h = Hold()
    yield h
    h.release()


@pytest.fixture
def service(servers: list[Any], tmp_path: Path, hold: Hold) -> Iterator[Service]:
    """The console's service, with a pipeline that can be held mid-run."""
    config = config_for_servers(servers, f"sqlite:///{tmp_path / 'passport'}.db")
    config.http.retries = 0
    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store, after_apply=hold.after_apply)
    built = Service.build(config, store=store, pipeline=pipeline, tick=0.05)
    yield built
    hold.release()
    built.close()
    store.close()


# -- the simulators' truth ----------------------------------------------------------------------
def newest_served(hospital: Any) -> int:
    """The time of the newest entry of the synced feeds, as the hospital recorded it."""
    return max(hospital.feeds[c][-1].timestamp for c in FEEDS if len(hospital.feeds[c]))


def last_entry_id(hospital: Any, category: str) -> str:
    last = len(hospital.feeds[category]) - 1
    return f"tag:atomfeed.ict4h.org:{hashed_uuid(hospital.feed_salt, category, last)}"


def records_held(hospital: Any) -> int:
    return len(hospital.valid_resources("Observation")) + len(hospital.valid_resources("Encounter"))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


# -- reading the API and the page ---------------------------------------------------------------
def api_sources(client: TestClient) -> dict[str, dict[str, Any]]:
    body = client.get(API, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    return {s["id"]: s for s in body["data"]["sources"]}


def row_html(html: str, source: str) -> str:
    row = re.search(rf'<tr id="hospital-\d+" data-source="{source}">(.*?)</tr>', html, re.S)
    assert row, f"no overview row for {source}"
    return row.group(1)


def attr(html: str, marker: str, name: str = "datetime") -> str | None:
    found = re.search(rf'{marker}[^>]*?{name}="([^"]*)"', html)
    return found.group(1) if found else None


def text_of(html: str, marker: str) -> str | None:
    found = re.search(rf"{marker}[^>]*>([^<]*)<", html)
    return found.group(1).strip() if found else None


def test_lag_is_now_minus_the_newest_change_each_hospital_served(
    client: TestClient, service: Service, servers: list[Any], hold: Hold
) -> None:
    hold.release()  # nothing is held in this test
    sign_in(client)
    before = api_sources(client)
    page = client.get("/admin/").text
    for s in servers:
        sid = s.hospital.id
        assert before[sid]["lag_seconds"] is None and before[sid]["newest_change"] is None
        assert before[sid]["lag_reason"] == "nothing synced yet"
        assert text_of(row_html(page, sid), 'data-lag="reason"') == "nothing synced yet"

    central = servers[0].hospital
    central.add_random_observations(2)  # central's newest change is now a few seconds old
    service.sync_all(actor="test")

    asked = time.time()
    after = api_sources(client)
    answered = time.time()
    page = client.get("/admin/").text
    for s in servers:
        sid, truth = s.hospital.id, newest_served(s.hospital)
        newest = after[sid]["newest_change"]
        assert newest["at"] == truth and newest["at_iso"] == iso(truth)
        assert newest["basis"] == "feed entry updated"
        assert asked - truth - 0.01 <= after[sid]["lag_seconds"] <= answered - truth + 0.01
        assert after[sid]["lag_reason"] is None
        assert after[sid]["since_success_seconds"] is not None  # the old figure, kept beside
        row = row_html(page, sid)
        assert attr(row, 'data-lag="newest-change"') == iso(truth)
        assert "newest change synced:" in row and "last successful run:" in row
    assert after["central"]["lag_seconds"] < 120  # its new observations are minutes old at most
    north = servers[1].hospital
    assert after["north"]["lag_seconds"] > time.time() - newest_served(north) - 5


def test_a_polled_hospitals_lag_counts_from_the_newest_resource_it_served(
    servers: list[Any], tmp_path: Path
) -> None:
    config = config_for_servers(servers, f"sqlite:///{tmp_path / 'poll'}.db", mode="poll")
    config.http.retries = 0
    service = Service.build(config)
    try:
        service.sync_all(actor="test")
        shown = {s["id"]: s for s in service.status()["sources"]}
    finally:
        service.close()
    for s in servers:
        served = [
            parse_time(r["meta"]["lastUpdated"])
            for t in ("Location", "Patient", "Encounter", "Observation")
            for r in s.hospital.valid_resources(t)
        ]
        newest = shown[s.hospital.id]["newest_change"]
        assert newest["basis"] == "resource lastUpdated"
        assert newest["at"] == max(t for t in served if t is not None)


@pytest.mark.parametrize("providers", [False, True], ids=["openmrs-1.8", "openmrs-1.9+"])
def test_the_mysql_streams_read_as_row_ids_are_exactly_those_with_id_watermarks(
    providers: bool,
) -> None:
    tables = {"encounter": frozenset({"encounter_id", "provider_id"})}
    if providers:
        tables |= {"provider": frozenset({"provider_id"}), "encounter_provider": frozenset()}
    queries = change_queries(Schema(tables))
    assert {q.stream for q in queries if not q.by_time} == ID_WATERMARK_STREAMS


def test_cursors_without_a_time_give_no_lag_and_say_why(
    client: TestClient, service: Service
) -> None:
    service.store.set_cursor(Cursor("north", "mysql:obs", {"watermark": 812, "boundary": {}}))
    service.store.set_cursor(Cursor("central", "feed:patient", {"phase": "feed", "marker": None}))
    sign_in(client)
    api = api_sources(client)
    page = client.get("/admin/").text
    for sid in ("north", "central"):
        assert api[sid]["lag_seconds"] is None and api[sid]["newest_change"] is None
        assert api[sid]["lag_reason"] == "no change with a time synced yet"
        assert text_of(row_html(page, sid), 'data-lag="reason"') == api[sid]["lag_reason"]


def _held_run(service: Service, hold: Hold) -> None:
    service.sync_all_background(actor="test")  # central first, then north
    assert hold.held.wait(60), "the run never reached the observation stream's last window"


def test_a_held_run_shows_its_progress_in_the_api_and_the_page(
    client: TestClient, service: Service, servers: list[Any], hold: Hold
) -> None:
    sign_in(client)
    central = servers[0].hospital
    _held_run(service, hold)

    api = api_sources(client)
    page = client.get("/admin/").text
    progress = api["central"]["progress"]
    assert api["central"]["state"] == "running"
    assert progress["windows"] == hold.windows
    assert progress["written"] == records_held(central)
    obs_time = central.feeds["observation"][-1].timestamp
    assert progress["position"]["stream"] == HELD_STREAM
    assert progress["position"]["at_iso"] == iso(obs_time)
    assert progress["position"]["entry_id"] == last_entry_id(central, "observation")
    # what is stored is in the lag already, before the run ends
    assert api["central"]["newest_change"]["at"] == newest_served(central)
    assert api["north"]["progress"] is None and api["north"]["lag_reason"] == "nothing synced yet"

    row = row_html(page, "central")
    assert text_of(row, 'data-progress="windows"') == str(hold.windows)
    assert text_of(row, 'data-progress="written"') == str(records_held(central))
    assert attr(row, 'data-progress="position"') == iso(obs_time)
    assert text_of(row, 'data-progress="entry"') == last_entry_id(central, "observation")
    assert 'hx-trigger="every 2s"' in page  # a run is going: the table polls fast

    hold.release()
    wait_for(
        lambda: all(
            s["state"] != "running" and s["last_run"] for s in api_sources(client).values()
        ),
        what="both runs to end",
        timeout=60,
    )
    done = api_sources(client)
    assert done["central"]["progress"] is None
    assert done["central"]["last_run"]["written"] == records_held(central)
    assert 'data-field="progress"' not in client.get("/admin/").text


@pytest.mark.browser
def test_the_overview_shows_progress_then_lag_without_reloading(
    page: Any, site: Site, hold: Hold
) -> None:
    from selenium.webdriver.common.by import By

    central = site.servers[0].hospital
    browser_sign_in(page, site, ADMIN_TOKEN)
    page.execute_script("window.__samePage = 1")

    def cell(source: str, css: str) -> Any:
        row = page.find_element(By.CSS_SELECTOR, f'tr[data-source="{source}"]')
        return row.find_element(By.CSS_SELECTOR, css)

    assert cell("central", '[data-lag="reason"]').text == "nothing synced yet"
    _held_run(site.service, hold)
    obs_time = iso(central.feeds["observation"][-1].timestamp)
    wait_for(
        lambda: cell("central", '[data-progress="position"]').get_attribute("datetime") == obs_time,
        what=f"the progress to reach the observation feed at {obs_time}",
    )
    assert cell("central", '[data-progress="written"]').text == str(records_held(central))
    assert cell("central", '[data-field="state"]').text == "running"
    screenshot(page, "overview-progress")

    hold.release()
    for s in site.servers:
        truth = iso(newest_served(s.hospital))
        wait_for(
            lambda sid=s.hospital.id, truth=truth: (
                cell(sid, '[data-lag="newest-change"]').get_attribute("datetime") == truth
            ),
            what=f"{s.hospital.id}'s lag to count from {truth}",
            timeout=60,
        )
    wait_for(
        lambda: not page.find_elements(By.CSS_SELECTOR, '[data-field="progress"]'),
        what="the progress to go when the runs end",
    )
    assert "newest change synced:" in cell("north", '[data-field="lag"]').text
    assert page.execute_script("return window.__samePage") == 1  # updated in place
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
