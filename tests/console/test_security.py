"""Sign-in, sessions, CSRF and roles over HTTP: who may do what, checked in which order."""

from __future__ import annotations

import re

import pytest

from sync2.console import SessionStore, create_app
from sync2.service import Principal, Service

from .conftest import ADMIN_TOKEN, CSRF, DOCTOR_TOKEN, TestClient, sign_in, tokens

ADMIN_PAGES = (
    "/admin/failed",
    "/admin/conflicts",
    "/admin/conflicts/1",
    "/admin/parked",
    "/admin/audit",
    "/admin/record",
)
ADMIN_ACTIONS = (
    "/admin/sync-all",
    "/admin/sync-source/central",
    "/admin/scheduler/start",
    "/admin/scheduler/stop",
    "/admin/failed/retry-all",
    "/admin/failed/1/retry",
    "/admin/conflicts/1/resolve",
    "/admin/record",
)


def _nothing_happened(service: Service) -> bool:
    """No run, no manual action, no scheduler change was audited."""
    kinds = {e.kind for e in service.store.list_audit(limit=1000)}
    return not kinds & {"sync", "sync-failed", "manual", "retry", "scheduler", "conflict-resolved"}


def test_every_page_and_action_needs_a_session(client: TestClient, service: Service) -> None:
    for path in (*ADMIN_PAGES, "/admin/", "/admin/patient", "/admin/overview/hospitals"):
        r = client.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/admin/login"), path
    for path in (*ADMIN_ACTIONS, "/admin/patient/sync", "/admin/logout"):
        r = client.post(path, content=b"x" * 200_000, headers={"content-type": "text/plain"})
        assert r.status_code == 401, path  # refused before the body (over the form cap) is read
    polled = client.get("/admin/overview/hospitals", headers={"HX-Request": "true"})
    assert polled.status_code == 401 and polled.headers["HX-Redirect"] == "/admin/login"
    assert _nothing_happened(service)


def test_sign_in_refuses_a_wrong_token_and_a_forged_form(client: TestClient) -> None:
    page = client.get("/admin/login")
    csrf = CSRF.findall(page.text)[0]
    wrong = client.post("/admin/login", data={"token": "x" * 30, "csrf_token": csrf})
    assert wrong.status_code == 401 and "sync2_session" not in wrong.headers.get("set-cookie", "")
    client.cookies.clear()  # another site's form: no sign-in cookie of ours to echo
    forged = client.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf})
    assert forged.status_code == 403
    assert "sync2_session=" not in forged.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_strict_expiring_and_secure_under_tls(
    service: Service,
) -> None:
    for scheme, secure in (("http", False), ("https", True)):
        with TestClient(
            create_app(service, tokens()), base_url=f"{scheme}://testserver", follow_redirects=False
        ) as c:
            csrf = CSRF.findall(c.get("/admin/login").text)[0]
            r = c.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf})
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("sync2_session="))
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "samesite", "max-age", "path"} <= flags
        assert "samesite=strict" in cookie.lower()
        assert ("secure" in flags) is secure, scheme


def test_forms_without_the_sessions_csrf_token_are_refused(
    client: TestClient, service: Service
) -> None:
    csrf = sign_in(client)
    assert client.post("/admin/scheduler/start", data={"x": "1"}).status_code == 403
    assert client.post("/admin/scheduler/start", data={"csrf_token": "x" * 43}).status_code == 403
    other_site = {"origin": "http://evil.example"}
    r = client.post("/admin/scheduler/start", data={"csrf_token": csrf}, headers=other_site)
    assert r.status_code == 403
    assert _nothing_happened(service) and not service.scheduler.running
    assert client.post("/admin/scheduler/start", data={"csrf_token": csrf}).status_code == 303
    assert service.scheduler.running
    by_header = client.post(
        "/admin/scheduler/stop", headers={"X-CSRF-Token": csrf}, data={"x": "1"}
    )
    assert by_header.status_code == 303 and not service.scheduler.running
    actors = {e.actor for e in service.store.list_audit(kind="scheduler")}
    assert actors == {"admin:ops"}


def test_a_doctor_gets_status_and_patients_and_is_refused_the_rest(
    client: TestClient, service: Service
) -> None:
    csrf = sign_in(client, DOCTOR_TOKEN)
    assert client.get("/admin/").status_code == 200
    assert "sync-all" not in client.get("/admin/").text  # no admin buttons
    assert client.get("/admin/patient").status_code == 200
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    for path in ADMIN_ACTIONS:
        r = client.post(path, data={"csrf_token": csrf, "source": "central", "how": "source"})
        assert r.status_code == 403, path
        assert "needs admin" in r.text
    assert _nothing_happened(service)
    r = client.post("/admin/patient/sync", data={"csrf_token": csrf, "nid": "NID-0000-0000"})
    assert r.status_code == 303
    assert [e.actor for e in service.store.list_audit(kind="manual")] == ["doctor:dr-who"]


def test_sign_out_ends_the_session_on_the_server(client: TestClient) -> None:
    csrf = sign_in(client)
    old = client.cookies.get("sync2_session")
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303
    client.cookies.set("sync2_session", old or "", path="/admin")  # a copied cookie
    assert client.get("/admin/").status_code == 303


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_when_idle_and_after_their_maximum_age() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, max_seconds=300, clock=clock)
    who = Principal("admin", "ops")
    idle_id, _ = store.create(who)
    clock.now += 61
    assert store.get(idle_id) is None
    busy_id, _ = store.create(who)
    for _ in range(5):  # active every 50 s: the idle clock restarts, the maximum does not
        clock.now += 50
        assert store.get(busy_id) is not None
    clock.now += 51
    assert store.get(busy_id) is None
    assert store.get("not-a-session") is None and store.get(None) is None


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("get", "/admin/failed/1/retry", None, 405),
        ("post", "/admin/failed/abc/retry", {}, 400),
        ("post", "/admin/failed/99999999999999999999999/retry", {}, 400),
        ("post", "/admin/failed/424242/retry", {}, 404),
        ("get", "/admin/conflicts/99999999999999999999999", None, 400),
        ("get", "/admin/conflicts/424242", None, 404),
        ("get", "/admin/conflicts?state=maybe", None, 400),
        ("get", "/admin/parked?page=-1", None, 400),
        ("get", "/admin/audit?page=1e9", None, 400),
        ("get", "/admin/patient?nid=" + "9" * 10_000, None, 400),
        ("post", "/admin/sync-source/nowhere", {}, 404),
        ("post", "/admin/scheduler/reboot", {}, 404),
        ("post", "/admin/record", {"source": "nowhere", "type": "Observation", "uuid": "a"}, 404),
        ("post", "/admin/record", {"source": "central", "type": "Nope", "uuid": "a"}, 400),
        ("post", "/admin/record", {"source": "central", "type": "Patient", "uuid": "../x"}, 400),
        ("post", "/admin/conflicts/424242/resolve", {"how": "source"}, 404),
        ("get", "/admin/static/../_web.py", None, 404),
        ("get", "/admin/static/nothing.js", None, 404),
        ("get", "/admin/no-such-page", None, 404),
    ],
)
def test_bad_input_gets_a_4xx_page_never_a_500(
    client: TestClient, method: str, path: str, data: dict[str, str] | None, status: int
) -> None:
    csrf = sign_in(client)
    if method == "get":
        r = client.get(path)
    else:
        r = client.post(path, data={**(data or {}), "csrf_token": csrf})
    assert r.status_code == status, r.text[:300]
    assert "text/html" in r.headers["content-type"] or status == 405


def test_a_too_large_or_foreign_form_is_refused(client: TestClient) -> None:
    csrf = sign_in(client)
    big = client.post("/admin/record", data={"csrf_token": csrf, "uuid": "a" * 70_000})
    assert big.status_code == 413
    as_json = client.post("/admin/sync-all", json={"csrf_token": csrf})
    assert as_json.status_code == 415


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    sign_in(client)
    r = client.get("/admin/")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    assert not re.search(r'(src|href)="(https?:)?//', r.text)  # nothing from another host


def test_insecure_local_signs_in_without_a_token_as_the_api_does(service: Service) -> None:
    with TestClient(create_app(service, None), follow_redirects=False) as c:
        page = c.get("/admin/login")
        assert "--insecure-local" in page.text
        r = c.post("/admin/login", data={"csrf_token": CSRF.findall(page.text)[0]})
        assert r.status_code == 303
        assert "admin:local" in c.get("/admin/").text
