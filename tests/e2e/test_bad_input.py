"""Bad input gets a clear message naming what and where, and the rest of the sync goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from mappers.documents import INVALID_STATUSES
from sync2.cli import app
from sync2.simulator import FaultConfig


def test_config_with_a_wrong_key_type_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "sync2.toml"
    bad.write_text(
        '[passport]\nstore = "sqlite:///x.db"\n'
        '[[sources]]\nid = "central"\nname = "Central"\nbase_url = "http://127.0.0.1:1/openmrs"\n'
        'feeds = "patient"\n'
    )
    result = CliRunner().invoke(app, ["sync", "--config", str(bad)])
    assert result.exit_code == 2
    assert "sources[0](id=central).feeds" in result.output
    assert "valid list" in result.output


def test_missing_secret_variable_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "sync2.toml"
    bad.write_text(
        '[[sources]]\nid = "c"\nname = "C"\nbase_url = "http://127.0.0.1:1/openmrs"\n'
        'password = "${NOT_SET_ANYWHERE}"\n'
    )
    result = CliRunner().invoke(app, ["status", "--config", str(bad)])
    assert result.exit_code == 2
    assert "sources[0].password: environment variable NOT_SET_ANYWHERE is not set" in result.output


def test_feed_entry_that_is_not_json_goes_to_failed_events(
    servers: list[Any], make_passport: Any
) -> None:
    hospital = servers[0].hospital
    hospital.corrupt_feed_entry("observation", 3, "{this is not json")
    _config, store, pipeline = make_passport(servers, initial_sync="feed")
    summaries = pipeline.sync_all()
    assert all(s.ok for s in summaries), [s.error for s in summaries]
    failed = store.list_failed(source=hospital.id)
    assert len(failed) == 1
    event = failed[0]
    assert "not valid JSON" in event.error and "tag:atomfeed.ict4h.org:" in event.error
    assert event.position["page"].endswith("/ws/atomfeed/observation/1")
    assert event.payload == "{this is not json"
    # everything else arrived
    for server in servers:
        expected = {o["id"] for o in server.hospital.valid_observations()}
        got = {
            d["uuid"]
            for d in store.find_records(server.hospital.id, "Observation")
            if d["status"] not in INVALID_STATUSES
        }
        missing = expected - got
        assert len(missing) <= (1 if server is servers[0] else 0)


def test_fhir_response_that_is_not_json_fails_only_those_records(
    servers: list[Any], make_passport: Any
) -> None:
    hospital = servers[0].hospital
    servers[0].faults = FaultConfig(wrong_content_type=0.5, paths=("/Observation",), seed=4)
    config, store, pipeline = make_passport(servers, initial_sync="feed")
    config.http.retries = 0
    config.http.id_batch_size = 5  # several requests, so some of them fail
    summaries = pipeline.sync_all()
    assert all(s.ok for s in summaries)
    failed = store.list_failed(source=hospital.id)
    assert failed, "some Observation fetches hit the HTML page"
    assert all("response is not JSON (text/html" in f.error for f in failed)
    assert all(f.resource_type == "Observation" and f.uuid for f in failed)
    stored = store.find_records(hospital.id, "Observation")
    assert stored, "the rest of the feed went on"
    # the hospital recovers; a retry of the queue completes the passport
    servers[0].faults = FaultConfig()
    counts = pipeline.retry_failed(only_due=False)
    assert counts["done"] == len(failed)
    expected = {o["id"] for o in hospital.valid_observations()}
    got = {
        d["uuid"]
        for d in store.find_records(hospital.id, "Observation")
        if d["status"] not in INVALID_STATUSES
    }
    assert got == expected
