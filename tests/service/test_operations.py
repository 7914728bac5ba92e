"""initialize, a background sync-all's outcomes and the conflict strategies, over real HTTP."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mappers import normalise_national_id
from sync2.config import Config, ConflictsConfig, load_config
from sync2.demo import config_for_servers
from sync2.service import Service, TokenAuth, create_app
from sync2.simulator import generate_hospitals, serve_hospitals

from .conftest import ADMIN, serve_app, write_config

P = "/api/openmrs-sync"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def with_offline(servers: list[Any], tmp_path: Path) -> Config:
    """The simulated hospitals plus one whose server is down."""
    config = config_for_servers(servers, f"sqlite:///{tmp_path / 'passport'}.db")
    offline = config.sources[0].model_copy(
        update={
            "id": "offline",
            "name": "Offline Hospital",
            "base_url": f"http://127.0.0.1:{_closed_port()}/openmrs",
        }
    )
    return config.model_copy(update={"sources": [*config.sources, offline]})


def test_initialize_reports_each_hospital(
    with_offline: Config,
    servers: list[Any],
    make_service: Callable[..., Service],
    auth: TokenAuth,
) -> None:
    service = make_service(with_offline)
    with serve_app(create_app(service, auth)) as api:
        r = httpx.post(f"{api}{P}/initialize", headers=ADMIN, timeout=120)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    report = {h["id"]: h for h in data["hospitals"]}
    assert set(report) == {s.hospital.id for s in servers} | {"offline"}
    for s in servers:
        assert report[s.hospital.id]["connected"] is True, report[s.hospital.id]
        assert s.stats["unauthorized"] == 0
    assert report["offline"]["connected"] is False and report["offline"]["error"]
    assert data["hospitalsConnected"] == len(servers)
    entry = service.store.list_audit(kind="initialize")[0]
    assert entry.actor == "admin:ops"
    assert entry.message == f"connected to {len(servers)} of {len(servers) + 1} hospitals"


def test_initialize_reports_wrong_credentials(
    servers: list[Any], tmp_path: Path, make_service: Callable[..., Service], auth: TokenAuth
) -> None:
    config = config_for_servers(servers[:1], f"sqlite:///{tmp_path / 'passport'}.db")
    wrong = config.sources[0].model_copy(update={"password": "not-the-password"})
    service = make_service(config.model_copy(update={"sources": [wrong]}))
    with serve_app(create_app(service, auth)) as api:
        r = httpx.post(f"{api}{P}/initialize", headers=ADMIN, timeout=60)
    hospital = r.json()["data"]["hospitals"][0]
    assert hospital["connected"] is False and "not-the-password" not in r.text


def test_background_sync_all_logs_and_audits_skipped_and_failed_sources(
    with_offline: Config,
    servers: list[Any],
    make_service: Callable[..., Service],
    auth: TokenAuth,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service(with_offline)
    service.manual_wait = 0.1
    busy = servers[0].hospital.id
    caplog.set_level(logging.INFO, logger="sync2")
    with (
        serve_app(create_app(service, auth)) as api,
        service.scheduler.hold([busy]),  # a run of this source is in progress
    ):
        r = httpx.post(f"{api}{P}/sync-all", headers=ADMIN, timeout=10)
        assert r.status_code == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(t.is_alive() for t in service.background):
            time.sleep(0.05)
    skipped = service.store.list_audit(kind="sync-skipped")
    assert [(e.source, e.actor) for e in skipped] == [(busy, "admin:ops")]
    assert skipped[0].message == f"{busy} skipped: a sync of source {busy!r} is in progress"
    failed = service.store.list_audit(kind="sync-failed", source="offline")
    assert len(failed) == 1 and failed[0].actor == "admin:ops"
    warnings = {
        (r.source, r.getMessage(), r.reason)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage().startswith("background sync-all")
    }
    assert (busy, "background sync-all: source skipped", skipped[0].message.split(": ")[1]) in (
        warnings
    )
    offline = [w for w in warnings if w[0] == "offline"]
    assert len(offline) == 1 and offline[0][1] == "background sync-all: source failed"
    assert offline[0][2] == failed[0].details["error"]
    ok = {e.source for e in service.store.list_audit(kind="sync")}
    assert ok == {s.hospital.id for s in servers[1:]}


def test_initialize_rereads_the_config_and_says_when_a_restart_is_needed(
    servers: list[Any], tmp_path: Path, make_service: Callable[..., Service], auth: TokenAuth
) -> None:
    path = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    service = make_service(load_config(path))
    service.reload = lambda: load_config(path)
    with serve_app(create_app(service, auth)) as api:

        def initialize() -> dict[str, Any]:
            r = httpx.post(f"{api}{P}/initialize", headers=ADMIN, timeout=60)
            assert r.status_code == 200, r.text
            return r.json()["data"]["config"]  # type: ignore[no-any-return]

        unchanged = {"reread": True, "changed": [], "restartNeeded": False, "error": None}
        assert initialize() == unchanged
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("interval_seconds = 3600", "interval_seconds = 600", 1))
        assert initialize() == {**unchanged, "changed": ["sources"], "restartNeeded": True}
        path.write_text(text + "\n[admin]\nport = -1\n", encoding="utf-8")
        broken = initialize()
        assert broken["error"] and "admin.port" in broken["error"]
        assert service.config.sources[0].interval_seconds == 3600  # the running config stays


@pytest.mark.parametrize(
    ("strategy", "shown", "queued"),
    [
        ("manual", "Passportname", 1),
        ("source-wins", "Hospitalname", 0),
        ("passport-wins", "Passportname", 0),
    ],
)
def test_conflict_strategies_over_http(
    tmp_path: Path, auth: TokenAuth, strategy: str, shown: str, queued: int
) -> None:
    """Both sides change a patient's family name: what each strategy shows, and for ``manual``
    the conflict listed and resolved over HTTP, ending with the hospital's name."""
    hospitals = generate_hospitals(n=1, patients=3, obs_per_patient=2, seed=5)
    with serve_hospitals(hospitals) as servers:
        hospital = servers[0].hospital
        config = config_for_servers(servers, f"sqlite:///{tmp_path / 'p.db'}")
        config = config.model_copy(
            update={"conflicts": ConflictsConfig(per_type={"Patient": strategy})}  # type: ignore[call-arg]
        )
        service = Service.build(config, tick=0.02)
        try:
            with serve_app(create_app(service, auth)) as api:
                sync = f"{api}{P}/sync-source/{hospital.id}"
                assert httpx.post(sync, headers=ADMIN, timeout=60).status_code == 200
                person = hospital.valid_resources("Patient")[0]
                nid = next(i["value"] for i in person["identifier"] if "National" in str(i["type"]))
                patient_id = normalise_national_id(nid)
                service.pipeline.edit_patient(patient_id, {"family": "Passportname"}, actor="a")
                hospital.update_patient(person["id"], family="Hospitalname")
                assert httpx.post(sync, headers=ADMIN, timeout=60).status_code == 200
                assert service.store.get_patient(patient_id)["family"] == shown  # type: ignore[index]
                listed = httpx.get(f"{api}{P}/conflicts", headers=ADMIN, timeout=10).json()
                assert len(listed["data"]) == queued
                if queued:
                    cid = listed["data"][0]["id"]
                    body = {"take": "source"}
                    r = httpx.post(
                        f"{api}{P}/conflicts/{cid}/resolve", json=body, headers=ADMIN, timeout=10
                    )
                    assert r.status_code == 200, r.text
                    after = service.store.get_patient(patient_id)
                    assert after is not None and after["family"] == "Hospitalname"
                    assert after["name"].endswith(" Hospitalname")
        finally:
            service.close()
