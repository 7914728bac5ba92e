"""The console in real headless Chromium against simulated hospitals over real HTTP.

Expected values come from the simulators (their own records) or from values a test sets there,
never from the console's code.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from mappers import normalise_national_id
from sync2.store import FailedEvent, WriteBatch
from sync2.store._base import FAILED_DEAD

from .conftest import (
    ADMIN_TOKEN,
    DOCTOR_TOKEN,
    Site,
    browser_sign_in,
    screenshot,
    wait_for,
)

pytestmark = pytest.mark.browser

try:
    from selenium.webdriver.common.by import By
except ImportError:  # selenium is in the test extras; the browser fixture explains a gap
    By = None


def _truth_records(hospital: Any) -> int:
    """What the passport must hold for a hospital: its valid observations and encounters."""
    return len(hospital.valid_resources("Observation")) + len(hospital.valid_resources("Encounter"))


def _shown_records(driver: Any) -> dict[str, int]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#hospitals table.hospitals > tbody > tr")
    return {
        r.get_attribute("data-source"): int(
            r.find_element(By.CSS_SELECTOR, '[data-field="records"]').text
        )
        for r in rows
    }


def _page_errors(driver: Any) -> list[str]:
    """The browser's console errors (a script error, a CSP refusal, a missing file)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _flash(driver: Any) -> str:
    """The page's messages, once the page that carries them has loaded."""
    found = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".flash"), what="a message on the page"
    )
    return " ".join(e.text for e in found)


def test_overview_refreshes_itself_while_hospitals_sync(page: Any, site: Site) -> None:
    browser_sign_in(page, site, ADMIN_TOKEN)
    assert page.current_url == site.url + "/admin/"
    assert _shown_records(page) == {s.hospital.id: 0 for s in site.servers}
    page.execute_script("window.__samePage = 1")

    site.service.sync_all_background(actor="scheduler")  # started outside this page
    truth = {s.hospital.id: _truth_records(s.hospital) for s in site.servers}
    wait_for(lambda: _shown_records(page) == truth, what=f"the overview to show {truth}")
    assert page.execute_script("return window.__samePage") == 1  # updated in place, no reload
    stored = page.find_element(By.CSS_SELECTOR, '[data-count="medicalrecords"]').text
    assert stored == str(sum(truth.values()))
    wait_for(
        lambda: page.find_elements(By.CSS_SELECTOR, "#runs-chart canvas"),
        what="the runs chart",
    )
    assert _page_errors(page) == []
    screenshot(page, "overview")

    hospital = site.servers[0].hospital
    patient = hospital.patients.rows[0]
    hospital.add_observation(patient.uuid, "weight", 64.5)
    page.find_element(By.CSS_SELECTOR, f'tr[data-source="{hospital.id}"] button.sync-one').click()
    assert "sync of central started" in _flash(page)
    wait_for(
        lambda: _shown_records(page)[hospital.id] == _truth_records(hospital),
        what="the new observation to be counted",
    )


def test_admin_retries_a_dead_failed_event(page: Any, site: Site) -> None:
    site.service.sync_all(actor="test")
    hospital = site.servers[0].hospital
    uuid = hospital.add_observation(hospital.patients.rows[1].uuid, "weight", 58.5)
    site.service.store.apply(
        WriteBatch(
            failed=[
                FailedEvent(
                    source=hospital.id,
                    resource_type="Observation",
                    uuid=uuid,
                    error="HTTP 500 from the hospital",
                    stream="feed:observation",
                    position={"entry": "tag:atomfeed:42"},
                    state=FAILED_DEAD,
                    attempts=5,
                )
            ]
        )
    )
    browser_sign_in(page, site, ADMIN_TOKEN)
    page.get(site.url + "/admin/failed")
    dead = page.find_element(By.ID, "dead-events")
    assert uuid in dead.text and "HTTP 500 from the hospital" in dead.text
    assert "tag:atomfeed:42" in dead.text
    screenshot(page, "failed")
    dead.find_element(By.CSS_SELECTOR, "button.retry").click()
    assert "1 done" in _flash(page)
    assert uuid not in page.find_element(By.ID, "dead-events").text
    stored = site.service.store.get_records(hospital.id, "Observation", [uuid])
    assert float(stored[uuid]["value"]) == 58.5


def test_admin_resolves_a_conflict_side_by_side(page: Any, site: Site) -> None:
    service, hospital = site.service, site.servers[0].hospital
    service.sync_all(actor="test")
    patient = hospital.patients.rows[2]
    nid = normalise_national_id(patient.national_id)
    service.pipeline.edit_patient(nid, {"birth_date": "1980-05-05"}, actor="test")
    hospital.update_patient(patient.uuid, birthdate="1981-06-06")
    service.sync_source(hospital.id, actor="test")
    (conflict,) = service.store.list_conflicts()

    browser_sign_in(page, site, ADMIN_TOKEN)
    page.get(site.url + "/admin/conflicts")
    page.find_element(By.LINK_TEXT, str(conflict.id)).click()
    row = wait_for(
        lambda: page.find_elements(By.CSS_SELECTOR, '#diff tr[data-field="birth_date"]'),
        what="the conflict's fields side by side",
    )[0]
    assert "changed-conflict" in row.get_attribute("class")
    assert row.find_element(By.CSS_SELECTOR, ".passport").text == "1980-05-05"
    assert row.find_element(By.CSS_SELECTOR, ".incoming").text == "1981-06-06"
    screenshot(page, "conflict")
    page.find_element(By.ID, "take-source").click()
    assert f"conflict {conflict.id}: took source by admin:ops" in _flash(page)
    assert page.find_element(By.ID, "conflicts").text.count("None.") == 1
    shown = service.store.get_patient(nid)
    assert shown is not None and shown["birth_date"] == "1981-06-06"


def _weights(hospital: Any, patient_uuid: str) -> list[float]:
    """The simulator's own valid weight observations of one patient."""
    return [
        float(o["valueQuantity"]["value"])
        for o in hospital.valid_observations()
        if o["subject"]["reference"].endswith(patient_uuid)
        and any(c.get("code") == "29463-7" for c in o["code"]["coding"])
    ]


def test_doctor_opens_a_patient_and_sees_the_vitals_chart(page: Any, site: Site) -> None:
    hospital = site.servers[0].hospital
    patient = hospital.patients.rows[3]
    start = int(time.time())
    try:  # three visits a week apart (the simulator's replay clock; it only moves forward)
        for week, value in enumerate((70.0, 71.5, 69.5), 1):
            hospital._clock = start + week * 7 * 86400
            hospital.add_observation(patient.uuid, "weight", value)
    finally:
        hospital._clock = None
    site.service.sync_all(actor="test")
    truth = sorted(_weights(hospital, patient.uuid))

    browser_sign_in(page, site, DOCTOR_TOKEN)
    assert page.current_url == site.url + "/admin/patient"
    page.find_element(By.ID, "nid").send_keys(patient.national_id)
    page.find_element(By.ID, "find-patient").click()
    chart = wait_for(
        lambda: page.find_elements(By.CSS_SELECTOR, "#chart-weight[data-points]"),
        what="the weight chart to be drawn",
    )[0]
    links = page.find_elements(By.CSS_SELECTOR, 'a[data-point="weight"]')
    assert sorted(float(a.get_attribute("textContent").split()[-1]) for a in links) == truth
    assert int(chart.get_attribute("data-points")) == len(truth)
    painted = page.execute_script(
        "const c = document.querySelector('#chart-weight canvas');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; } return false;"
    )
    assert painted, "the chart canvas is blank"
    assert _page_errors(page) == []  # the vendored scripts run under the CSP, no inline code
    screenshot(page, "patient")

    target = next(a for a in links if a.get_attribute("textContent").endswith(" 71.5"))
    anchor = target.get_attribute("href").split("#", 1)[1]
    page.execute_script("arguments[0].click()", target)
    assert page.execute_script("return location.hash") == f"#{anchor}"
    assert "71.5" in page.find_element(By.ID, anchor).text

    page.find_element(By.ID, "sync-patient").click()
    assert "synced" in _flash(page) and "from 2 hospitals" in _flash(page)


def test_doctor_is_refused_admin_pages_and_actions(page: Any, site: Site) -> None:
    browser_sign_in(page, site, DOCTOR_TOKEN)
    assert page.find_element(By.ID, "who").text == "doctor:dr-who"
    assert not page.find_elements(By.LINK_TEXT, "Failed events")
    page.get(site.url + "/admin/")
    assert not page.find_elements(By.ID, "sync-all")  # status only
    page.get(site.url + "/admin/failed")
    assert "needs admin" in page.find_element(By.ID, "error-message").text
    result = page.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];"
        "fetch('/admin/sync-all', {method: 'POST', redirect: 'manual', headers:"
        " {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf_token=' + csrf})"
        ".then(r => done(r.status));"
    )
    assert result == 403
    assert site.service.store.list_audit(kind="sync") == []
    assert not [e for e in site.service.store.list_audit() if e.kind == "manual"]


def test_hospital_text_is_shown_escaped_and_never_runs(page: Any, site: Site) -> None:
    hospital = site.servers[0].hospital
    name = "<script>window.__xss=1</script>"
    family = '<img src=x onerror="window.__xss=2">'
    note = "<script>window.__xss=3</script><b>bold</b>"
    uuid = hospital.add_patient(national_id="NID-XSS-0001", given=name, family=family)
    hospital.add_observation(uuid, "note", note)
    site.service.sync_all(actor="test")

    browser_sign_in(page, site, ADMIN_TOKEN)
    page.get(site.url + "/admin/patient?nid=NID-XSS-0001")
    shown = page.find_element(By.ID, "patient-name").text
    assert name in shown and family in shown  # the text itself, as characters
    assert note in page.find_element(By.ID, "timeline").text
    assert page.execute_script("return window.__xss") is None
    injected = page.execute_script(
        "return [...document.querySelectorAll('script')]"
        ".filter(s => s.textContent.includes('__xss')).length"
        " + document.querySelectorAll('img, #timeline b').length"
    )
    assert injected == 0
    screenshot(page, "patient-escaped")


def test_session_cookie_sign_out_and_the_other_pages(page: Any, site: Site) -> None:
    page.get(site.url + "/admin/login")
    screenshot(page, "login")
    page.find_element(By.ID, "token").send_keys("not-a-token-at-all-0000")
    page.find_element(By.ID, "sign-in").click()
    refused = wait_for(lambda: page.find_elements(By.ID, "sign-in-error"), what="the refusal")
    assert "not valid" in refused[0].text
    browser_sign_in(page, site, ADMIN_TOKEN)
    cookie = next(c for c in page.get_cookies() if c["name"] == "sync2_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False and "expiry" in cookie  # plain HTTP here; expiring
    assert page.execute_script("return document.cookie").find("sync2_session") == -1

    hospital = site.servers[1].hospital
    site.service.sync_all(actor="test")
    uuid = hospital.add_observation(hospital.patients.rows[0].uuid, "weight", 83.0)
    page.get(site.url + "/admin/record")
    page.find_element(By.CSS_SELECTOR, f'#source option[value="{hospital.id}"]').click()
    page.find_element(By.ID, "uuid").send_keys(uuid)
    screenshot(page, "record")
    page.find_element(By.ID, "sync-record").click()
    assert f"Observation/{uuid}: " in _flash(page) and "0 failed" in _flash(page)
    stored = site.service.store.get_records(hospital.id, "Observation", [uuid])
    assert float(stored[uuid]["value"]) == 83.0

    page.get(site.url + "/admin/audit?q=signed+in")
    assert "signed in to the admin console" in page.find_element(By.ID, "audit").text
    screenshot(page, "audit")
    page.get(site.url + "/admin/parked")
    assert page.find_element(By.ID, "parked")
    screenshot(page, "parked")

    page.find_element(By.ID, "sign-out").click()
    wait_for(lambda: page.find_elements(By.ID, "token"), what="the sign-in page")
    assert page.current_url == site.url + "/admin/login"
    page.get(site.url + "/admin/")
    assert page.current_url == site.url + "/admin/login"
