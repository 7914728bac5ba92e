"""``auth = "session"``: sign in once at ``/ws/rest/v1/session``, then send only the cookie.

Over real HTTP against a REST-only simulated hospital. What is expected comes from the
simulator: its own count of sign-ins and of requests authorised by Basic or by cookie, its valid
observations, and the session ids it handed out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from sync2._errors import ConfigError
from sync2.config import Config, parse_config
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.service._logging import QUIET_LOGGERS
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.simulator._rest import configure
from sync2.simulator._rest_session import expire_sessions
from sync2.store import open_store


@pytest.fixture
def server() -> Iterator[Any]:
    hospitals = generate_hospitals(n=1, patients=3, obs_per_patient=3, seed=21, clinical=False)
    configure(hospitals[0], feed_dialect="classic", fhir=False)
    with serve_hospitals(hospitals) as running:
        yield running[0]


def _config(server: Any, tmp_path: Path, **changes: Any) -> Config:
    config = config_for_servers([server], f"sqlite:///{tmp_path / 'p.db'}")
    update = {"kind": "openmrs-rest", "auth": "session", **changes}
    config.sources[0] = config.sources[0].model_copy(update=update)
    return config


def _log_as_the_service_does(caplog: pytest.LogCaptureFixture) -> None:
    """Everything at DEBUG but the libraries the service keeps at WARNING (their lines carry
    raw URLs and headers)."""
    caplog.set_level(logging.DEBUG)
    for name in QUIET_LOGGERS:
        caplog.set_level(logging.WARNING, logger=name)


def _valid_obs(store: Any, source: str) -> set[str]:
    return {
        d["uuid"]
        for d in store.find_records(source, "Observation")
        if d["status"] not in ("entered-in-error", "superseded")
    }


def test_one_sign_in_then_only_the_cookie_and_a_dead_session_signs_in_again(
    server: Any, tmp_path: Path
) -> None:
    h, stats = server.hospital, server.stats
    config = _config(server, tmp_path)
    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store)
    try:
        assert all(s.ok for s in pipeline.sync_all())
        truth = {o["id"] for o in h.valid_observations()}
        assert truth and _valid_obs(store, h.id) == truth
        assert stats["rest_sign_ins"] == 1
        assert stats["rest_basic"] == 0 and stats["rest_cookie"] == stats["rest_requests"] > 0

        expire_sessions(h)  # the server restarted: the cookie is no longer known
        patient = h.valid_resources("Patient")[0]["id"]
        fresh = h.add_observation(patient, "weight", 64.0)
        assert all(s.ok for s in pipeline.sync_all())
        assert stats["rest_sign_ins"] == 2 and stats["rest_basic"] == 0
        assert fresh in _valid_obs(store, h.id)
    finally:
        pipeline.close()
        store.close()


def test_a_server_that_only_sets_the_cookie_is_signed_in_to_as_well(
    server: Any, tmp_path: Path
) -> None:
    server.hospital.rest_session_echo = False  # newer webservices.rest: no sessionId in the body
    config = _config(server, tmp_path)
    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store)
    try:
        assert all(s.ok for s in pipeline.sync_all())
        assert server.stats["rest_sign_ins"] == 1 and server.stats["rest_basic"] == 0
        truth = {o["id"] for o in server.hospital.valid_observations()}
        assert _valid_obs(store, server.hospital.id) == truth
    finally:
        pipeline.close()
        store.close()


def test_refused_credentials_and_a_server_that_keeps_no_session_fail_clearly(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = server.hospital
    _log_as_the_service_does(caplog)
    wrong = _config(server, tmp_path, password=SecretStr("not-the-password"))
    store = open_store(wrong.passport.store)
    pipeline = Pipeline(wrong, store)
    try:
        [summary] = pipeline.sync_all()
        assert not summary.ok and "authenticated is false" in str(summary.error)
        assert server.stats["rest_refused_sign_ins"] >= 1 and server.stats["rest_sign_ins"] == 0
    finally:
        pipeline.close()
        store.close()

    expire_sessions(h, always=True)  # a proxy drops every cookie
    config = _config(server, tmp_path)
    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store)
    try:
        [summary] = pipeline.sync_all()
        assert not summary.ok and "401 again right after signing in" in str(summary.error)
        assert server.stats["rest_sign_ins"] == 2  # the first request, then once more
    finally:
        pipeline.close()
        store.close()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert server.password not in logged and "not-the-password" not in logged


def test_session_ids_and_the_password_stay_out_of_the_logs(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _log_as_the_service_does(caplog)
    config = _config(server, tmp_path)
    store = open_store(config.passport.store)
    pipeline = Pipeline(config, store)
    try:
        assert all(s.ok for s in pipeline.sync_all())
    finally:
        pipeline.close()
        store.close()
    sessions = server.hospital.rest_sessions
    assert sessions
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert server.password not in logged
    assert not any(s in logged for s in sessions)


def _source(**fields: Any) -> dict[str, Any]:
    return {
        "sources": [
            {
                "id": "north",
                "name": "North",
                "kind": "openmrs-rest",
                "base_url": "https://north.example/openmrs",
                "username": "sync",
                "password": "${PW}",
                **fields,
            }
        ]
    }


def test_auth_is_basic_unless_session_is_asked_for() -> None:
    env = {"PW": "x"}
    assert parse_config(_source(), env=env).sources[0].auth == "basic"
    assert parse_config(_source(auth="session"), env=env).sources[0].auth == "session"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"auth": "cookie"}, "sources[0](id=north).auth"),
        ({"auth": "session", "kind": "openmrs-fhir"}, "is for kind = 'openmrs-rest'"),
        ({"auth": "session", "password": None}, "give both"),
    ],
)
def test_a_wrong_auth_is_refused_naming_the_source(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_source(**fields), env={"PW": "x"})
    assert message in str(info.value) and "sources[0](id=north)" in str(info.value)
