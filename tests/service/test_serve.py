"""``sync2 serve`` as the docs say: a real process on 127.0.0.1 with a token in the environment;
and the manual-sync CLI commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sync2.cli import app
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.simulator._faults import FaultConfig
from sync2.store import open_store
from sync2.store._leases import lease_name

from .conftest import ADMIN_TOKEN, national_id_at_every_hospital, write_config

P = "/api/openmrs-sync"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_healthz_and_metrics(tmp_path: Path, servers: list[Any]) -> None:
    config = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    port = _free_port()
    env = {**os.environ, "SYNC2_API_TOKENS": ADMIN_TOKEN}
    command = [sys.executable, "-m", "sync2.cli", "serve", "--config", str(config)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health.json() == {"status": "ok", "scheduler": True}
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 401
        written: dict[str, float] = {}
        while time.monotonic() < deadline and len(written) < len(servers):
            text = httpx.get(f"{base}/metrics", headers=headers, timeout=5).text
            for s in servers:
                line = f'sync2_records_written_total{{source="{s.hospital.id}"}} '
                value = next(x for x in text.splitlines() if x.startswith(line))
                if float(value.split()[-1]) > 0:
                    written[s.hospital.id] = float(value.split()[-1])
            time.sleep(0.1)
        assert set(written) == {s.hospital.id for s in servers}
        nid = national_id_at_every_hospital(servers)
        r = httpx.post(f"{base}{P}/sync-patient/{nid}", headers=headers, timeout=30)
        assert r.status_code == 200 and r.json()["data"]["totalSynced"] >= 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err  # SIGTERM is a clean stop, as SIGINT is
    assert "route=/api/openmrs-sync/sync-patient/{national_id} status=200" in err
    for secret in (ADMIN_TOKEN, nid, *(s.password for s in servers)):
        assert secret not in out and secret not in err
    assert 'msg="Application shutdown complete."' in err
    assert "level=INFO" in err and 'msg="admin API listening"' in err


def _start_serve(config: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    env = {**os.environ, "SYNC2_API_TOKENS": ADMIN_TOKEN}
    command = [sys.executable, "-m", "sync2.cli", "serve", "--config", str(config)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _source_status(base: str, source: str, until: Callable[[dict[str, Any]], bool]) -> None:
    """Poll ``GET status`` until ``until`` holds for the source (or fail after 30 s)."""
    deadline = time.monotonic() + 30
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{base}{P}/status", headers=ADMIN_HEADERS, timeout=2)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        seen = next(s for s in r.json()["data"]["sources"] if s["id"] == source)
        if until(seen):
            return
        time.sleep(0.05)
    raise AssertionError(f"status never reached the expected state: {seen}")


def _valid(store_path: Path, source: str, resource_type: str) -> set[str]:
    store = open_store(f"sqlite:///{store_path}")
    try:
        return set(store.list_record_uuids(source, resource_type, limit=1_000_000))
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stop_mid_sync_loses_nothing_and_a_restart_completes(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """SIGTERM: exit 0, the lease released, a restart syncs at once. SIGKILL: the lease stays
    until its TTL (3 s here), then a restart takes over. Either way the passport ends equal to
    the simulator's records."""
    hospitals = generate_hospitals(n=1, patients=40, obs_per_patient=10, seed=5)
    with serve_hospitals(hospitals) as servers:
        server = servers[0]
        sid = server.hospital.id
        server.faults = FaultConfig(slow=1.0, delay=0.4)  # a run of ~8 s, a checkpoint each ~0.5
        store_path = tmp_path / "p.db"
        config = write_config(tmp_path / "sync2.toml", servers, store_path)
        with config.open("a", encoding="utf-8") as f:
            f.write("\n[admin]\nlease_ttl_seconds = 3\n")
        proc, base = _start_serve(config, "--grace", "0.5")
        try:
            _source_status(base, sid, lambda s: s["state"] == "running")
            time.sleep(1.5)  # some batches in
        finally:
            proc.send_signal(sig)
            _out, err = proc.communicate(timeout=60)
        truth = {o["id"] for o in server.hospital.valid_observations()}
        partial = _valid(store_path, sid, "Observation")
        assert partial < truth  # the run was cut short, and kept only real records
        store = open_store(f"sqlite:///{store_path}")
        try:
            free = store.acquire_lease(lease_name(sid), "another-worker", 60)
            if free:
                store.release_lease(lease_name(sid), "another-worker")
        finally:
            store.close()
        if sig == signal.SIGTERM:
            assert proc.returncode == 0, err
            assert "runs still going at shutdown" in err and "sync2 serve stopped" in err
            assert free  # released: another worker takes it at once
        else:
            assert proc.returncode == -signal.SIGKILL
            assert not free  # held by the dead worker until its TTL runs out

        server.faults = None
        proc, base = _start_serve(config)
        try:
            _source_status(base, sid, lambda s: s["last_run"] and s["last_run"]["ok"])
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert _valid(store_path, sid, "Observation") == truth


def test_serve_refuses_to_start_without_a_token(tmp_path: Path, servers: list[Any]) -> None:
    config = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--port", "0"])
    assert result.exit_code == 2
    assert "the admin API has no token" in result.output


def test_cli_sync_patient_and_sync_record(tmp_path: Path, servers: list[Any]) -> None:
    config = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    runner = CliRunner()
    nid = national_id_at_every_hospital(servers)
    result = runner.invoke(app, ["sync-patient", nid, "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summaries = json.loads(result.stdout)
    assert [s["source"] for s in summaries] == [s.hospital.id for s in servers]
    assert all(s["ok"] and s["written"] > 0 for s in summaries)

    obs = servers[1].hospital.valid_observations()[-1]
    args = ["sync-record", obs["id"], "--source", servers[1].hospital.id, "--type", "Observation"]
    result = runner.invoke(app, [*args, "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resources"] >= 1
    bad = runner.invoke(app, [*args[:-1], "Banana", "--config", str(config)])
    assert bad.exit_code == 2 and "--type must be one of" in bad.output

    audit = runner.invoke(app, ["audit", "--config", str(config), "--json", "--kind", "manual"])
    actors = {e["actor"] for e in json.loads(audit.stdout)}
    assert actors == {"cli"}


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", "req", "-x509", *ec, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_serve_over_tls(tmp_path: Path, servers: list[Any]) -> None:
    cert, key = _self_signed(tmp_path)
    config = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    proc, base = _start_serve(config, "--tls-cert", str(cert), "--tls-key", str(key))
    secure = base.replace("http://", "https://")
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"{secure}/healthz", verify=trusted, timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health.json()["status"] == "ok"
        r = httpx.get(f"{secure}{P}/status", headers=ADMIN_HEADERS, verify=trusted, timeout=5)
        assert r.status_code == 200
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served
            httpx.get(f"{base}/healthz", timeout=2)
        with pytest.raises(httpx.ConnectError):  # verification stays on: unknown CA refused
            httpx.get(f"{secure}/healthz", timeout=2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "scheme=https" in err


def test_serve_names_an_unreadable_tls_file(tmp_path: Path, servers: list[Any]) -> None:
    config = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    missing = tmp_path / "nowhere.pem"
    args = ["serve", "--config", str(config), "--tls-cert", str(missing), "--tls-key", str(missing)]
    result = CliRunner().invoke(app, args, env={"SYNC2_API_TOKENS": ADMIN_TOKEN})
    assert result.exit_code == 2
    said = "".join(result.output.split())  # the console wraps long lines
    assert f"TLScertificate{missing}:cannotreadit" in said
    half = CliRunner().invoke(app, [*args[:3], "--tls-cert", str(missing)])
    assert half.exit_code == 2 and "--tls-cert and --tls-key go together" in half.output


def test_passport_edit_of_a_name_part_changes_the_shown_name(
    tmp_path: Path, servers: list[Any]
) -> None:
    config = write_config(tmp_path / "sync2.toml", servers, tmp_path / "p.db")
    runner = CliRunner()
    nid = national_id_at_every_hospital(servers)
    assert runner.invoke(app, ["sync-patient", nid, "--config", str(config)]).exit_code == 0
    show = ["passport", "show", nid, "--json", "--config", str(config)]
    person = next(  # the simulator's own record of the patient: it writes no name text
        p
        for p in servers[0].hospital.valid_resources("Patient")
        if any(i.get("value") == nid for i in p.get("identifier") or [])
    )
    given, family = person["name"][0]["given"], person["name"][0]["family"]
    assert json.loads(runner.invoke(app, show).stdout)["name"] == " ".join([*given, family])
    edit = ["passport", "edit", "patient", nid, "--config", str(config)]
    result = runner.invoke(app, [*edit, "--set", "family=Zzyzx"])
    assert result.exit_code == 0, result.output
    assert json.loads(runner.invoke(app, show).stdout)["name"] == " ".join([*given, "Zzyzx"])
    result = runner.invoke(app, [*edit, "--set", "given=Ann Marie"])
    assert result.exit_code == 0, result.output
    assert json.loads(runner.invoke(app, show).stdout)["name"] == "Ann Marie Zzyzx"
