"""Console fixtures: simulated hospitals, the service app (API + console) served over real HTTP
on 127.0.0.1, and headless Chromium driven by Selenium through Debian's own chromedriver.

Nothing is downloaded at run time: the driver and the browser are the system's. Without them a
browser test skips with the reason, except under CI (``CI`` set), where it fails: CI installs
both (``.ci/run``), so a missing browser there is a broken build, not a gap to hide.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sync2.console import create_app
from sync2.demo import config_for_servers
from sync2.service import Service, TokenAuth
from sync2.simulator import generate_hospitals, serve_hospitals

with warnings.catch_warnings():  # starlette warns about its own httpx use at import time
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN_TOKEN = "console-admin-token-0123456789"
DOCTOR_TOKEN = "console-doctor-token-0123456789"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: Screenshots of each page go here when set (docs/console/ holds the committed ones).
SHOTS = os.environ.get("SYNC2_SCREENSHOTS")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


@pytest.fixture(scope="module")
def servers() -> Iterator[list[Any]]:
    hospitals = generate_hospitals(n=2, patients=4, obs_per_patient=3, seed=11)
    with serve_hospitals(hospitals) as running:
        yield running


def tokens() -> TokenAuth:
    auth = TokenAuth()
    auth.add("admin", "ops", ADMIN_TOKEN)
    auth.add("doctor", "dr-who", DOCTOR_TOKEN)
    return auth


@pytest.fixture
def service(servers: list[Any], tmp_path: Path) -> Iterator[Service]:
    config = config_for_servers(servers, f"sqlite:///{tmp_path / 'passport'}.db")
    config.http.retries = 0
    built = Service.build(config, tick=0.05)
    yield built
    built.close()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """The whole service app in-process (for the console's HTTP-level tests)."""
    with TestClient(create_app(service, tokens()), follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, token: str = ADMIN_TOKEN) -> str:
    """Sign ``client`` in; returns the session's CSRF token (read from a page, as a browser)."""
    page = client.get("/admin/login")
    done = client.post(
        "/admin/login", data={"token": token, "csrf_token": CSRF.findall(page.text)[0]}
    )
    assert done.status_code == 303, done.text
    return CSRF.findall(client.get("/admin/patient").text)[0]


# -- a real server and a real browser ------------------------------------------------------------
@dataclass
class Site:
    url: str
    service: Service
    servers: list[Any]


@pytest.fixture
def site(service: Service, servers: list[Any]) -> Iterator[Site]:
    """The service app (API + console) over real HTTP on 127.0.0.1."""
    from sync2.console import create_console

    app = create_app(service, tokens())
    # the app as served, but with a short idle refresh, so that a test sees the overview
    # update itself within seconds
    mount = next(r for r in app.routes if getattr(r, "path", "") == "/admin")
    mount.app = create_console(service, tokens(), idle_refresh_seconds=1)  # type: ignore[attr-defined]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True, name="console-site")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "console site did not start"
        time.sleep(0.02)
    yield Site(f"http://127.0.0.1:{port}", service, servers)
    server.should_exit = True
    thread.join(10)


def _browser_paths() -> tuple[str, str] | None:
    binary = next(
        (
            p
            for p in ("/usr/lib/chromium/chromium", shutil.which("chromium"))
            if p and Path(p).is_file()
        ),
        None,
    )
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None
    )
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with a fresh profile, driven by the system's chromedriver."""
    paths = _browser_paths()
    if paths is None:
        reason = "chromium and chromium-driver are not installed (apt-get install them)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=paths[1]))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """The browser, signed out, for one test."""
    browser.get(site.url + "/admin/login")
    browser.delete_all_cookies()
    # the last test's page may have polled its server after that server stopped (a refused
    # htmx request): those errors belong to it, not to this test's pages
    browser.get_log("browser")
    yield browser
    browser.delete_all_cookies()


def browser_sign_in(driver: Any, site: Site, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(site.url + "/admin/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(lambda: driver.find_elements(By.ID, "who"), what="the signed-in page")


def wait_for(check: Callable[[], Any], *, what: str, timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` on time-out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except Exception:  # a stale element while htmx swaps: look again
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def screenshot(driver: Any, name: str) -> None:
    """Save the whole page (up to 2,000 px tall) when ``SYNC2_SCREENSHOTS`` names a folder."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 140, 900), 2000))
    driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))
    driver.set_window_size(1280, 900)
