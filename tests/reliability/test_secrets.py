"""Secrets never appear in messages, logs, status, audit or failed events; a 401 is reported as
"unauthorised" with a clear error. The password, the DSN password and a password in a URL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sync2.cli import app
from sync2.config import load_config
from sync2.pipeline import Pipeline
from sync2.simulator import FaultConfig, generate_hospitals, serve_hospitals
from sync2.sources.http import _safe_url
from sync2.store import open_store

WRONG = "Wr0ng-S3cret-Passw0rd!"
DSN_SECRET = "Dsn-S3cret-Value-991"
URL_SECRET = "Url-S3cret-Value-552"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve_hospitals(generate_hospitals(n=1, patients=3, obs_per_patient=3, seed=2)) as s:
        yield s[0]


def _config(tmp_path: Path, server: Any, *, base_url: str | None = None) -> Path:
    path = tmp_path / "sync2.toml"
    path.write_text(
        f'[passport]\nstore = "sqlite:///{tmp_path / "p.db"}"\n\n'
        "[http]\nretries = 1\n\n"
        f'[[sources]]\nid = "{server.hospital.id}"\nname = "{server.hospital.name}"\n'
        f'base_url = "{base_url or server.url}"\nusername = "{server.username}"\n'
        'password = "${HOSPITAL_PASSWORD}"\n'
        'feeds = ["patient", "observation"]\ninitial_sync = "feed"\n\n'
        '[[sources]]\nid = "old"\nname = "Old Hospital"\nkind = "openmrs-mysql"\n'
        'dsn = "mysql://openmrs:${DSN_PASSWORD}@127.0.0.1:9/openmrs"\n',
        encoding="utf-8",
    )
    return path


def _everything_said(store: Any, caplog: pytest.LogCaptureFixture, *texts: str) -> str:
    audit = [a.to_dict() for a in store.list_audit(limit=1000)]
    failed = [f.to_dict() for f in store.list_failed()]
    return "\n".join([json.dumps(audit), json.dumps(failed), caplog.text, *texts])


def test_unauthorised_source_is_reported_and_no_secret_leaks(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOSPITAL_PASSWORD", WRONG)
    monkeypatch.setenv("DSN_PASSWORD", DSN_SECRET)
    path = _config(tmp_path, server)
    runner = CliRunner()
    synced = runner.invoke(app, ["sync", "--config", str(path), "--json"])
    assert synced.exit_code == 1, synced.output
    summaries = {s["source"]: s for s in json.loads(synced.stdout)}
    bad = summaries[server.hospital.id]
    assert bad["unauthorised"] is True and not bad["ok"]
    assert bad["error"].startswith("unauthorised:") and "HTTP 401" in bad["error"]
    assert "username and password" in bad["error"]
    assert not summaries["old"]["ok"], "the MySQL source cannot connect either"
    status = runner.invoke(app, ["status", "--config", str(path), "--json"])
    audit = runner.invoke(app, ["audit", "--config", str(path)])
    config = load_config(path)
    with open_store(config.passport.store) as store:
        entries = store.list_audit(kind="sync-failed", source=server.hospital.id)
        assert entries and entries[0].details["unauthorised"] is True
        said = _everything_said(store, caplog, synced.output, status.output, audit.output)
    for secret in (WRONG, DSN_SECRET):
        assert secret not in said
    assert "unauthorised" in said


def test_real_password_absent_from_everything_during_faults(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOSPITAL_PASSWORD", server.password)
    monkeypatch.setenv("DSN_PASSWORD", DSN_SECRET)
    config = load_config(_config(tmp_path, server))
    server.faults = FaultConfig(error_500=0.5, reset=0.3, truncated=0.3, seed=5)
    try:
        with open_store(config.passport.store) as store:
            pipeline = Pipeline(config, store)
            try:
                summaries = pipeline.sync_all()
                snapshot = json.dumps(pipeline.source(server.hospital.id).breaker.snapshot())
            finally:
                pipeline.close()
            said = _everything_said(store, caplog, repr(summaries), snapshot, repr(config))
    finally:
        server.faults = None
    assert server.stats["faults"] > 0
    assert server.password not in said and DSN_SECRET not in said


def test_a_password_in_the_base_url_is_never_repeated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, server: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOSPITAL_PASSWORD", "irrelevant")
    monkeypatch.setenv("DSN_PASSWORD", DSN_SECRET)
    config = load_config(
        _config(tmp_path, server, base_url=f"http://u:{URL_SECRET}@127.0.0.1:9/openmrs")
    )
    config.http.retries = 0
    with open_store(config.passport.store) as store:
        pipeline = Pipeline(config, store)
        try:
            summaries = pipeline.sync_all()
        finally:
            pipeline.close()
        said = _everything_said(store, caplog, repr(summaries))
    assert not summaries[0].ok and "127.0.0.1:9" in (summaries[0].error or "")
    assert URL_SECRET not in said


def test_safe_url_strips_userinfo_and_query_values() -> None:
    url = (
        f"https://u:{URL_SECRET}@h.org:8443/openmrs/ws/fhir2/R4/Patient?identifier=NID123&_count=5"
    )
    safe = _safe_url(url)
    assert URL_SECRET not in safe and "NID123" not in safe
    assert safe.startswith("https://h.org:8443/openmrs/ws/fhir2/R4/Patient?")
