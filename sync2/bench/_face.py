"""(p) The passport's FHIR face: resources/s served while paging, and a chain's obs/s.

Runs in its own process (``python -m sync2.bench phase face ARGS``). A simulated hospital (a
child process) is synced into a district passport; the district's ``sync2 serve`` (another child
process, scheduler off) then serves it. Two figures:

- **served/s**: a client pages every Observation of the district through the FHIR search
  (``_count=1000``, keyset ``next`` links), as a child's first sync or an outside reader does;
- **chain obs/s**: a national passport (in this process) syncs everything from the district
  through a source of kind ``openmrs-fhir`` with a bearer token: snapshot, then the feed head.

The issue names no number for either, so they are printed as figures, not targets.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ..config import load_config
from ..pipeline import Pipeline
from ..store import open_store
from ._simulators import simulators

_FEEDS = '["patient", "encounter", "observation"]'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _district_config(workdir: Path, hospital: dict[str, Any], port: int, token: str) -> Path:
    tokens = workdir / "tokens.txt"
    tokens.write_text(f"doctor national {token}\n", encoding="utf-8")
    tokens.chmod(0o600)
    path = workdir / "district.toml"
    path.write_text(
        f'[passport]\nstore = "sqlite:///{workdir / "district.db"}"\n\n'
        '[matching]\nidentifier_types = ["National ID"]\n\n'
        f'[admin]\nport = {port}\nauto_start = false\ntoken_file = "{tokens}"\n\n'
        f'[[sources]]\nid = "{hospital["id"]}"\nname = "{hospital["name"]}"\n'
        f'base_url = "{hospital["url"]}"\nusername = "{hospital["username"]}"\n'
        'password = "${HOSPITAL_PASSWORD}"\n'
        f"feeds = {_FEEDS}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def _national_config(workdir: Path, district_url: str) -> Path:
    path = workdir / "national.toml"
    path.write_text(
        f'[passport]\nstore = "sqlite:///{workdir / "national.db"}"\n\n'
        '[matching]\nidentifier_types = ["National ID"]\n\n'
        '[[sources]]\nid = "district"\nname = "District passport"\n'
        f'base_url = "{district_url}"\ntoken = "${{DISTRICT_TOKEN}}"\nfeeds = {_FEEDS}\n',
        encoding="utf-8",
    )
    return path


@contextmanager
def _serve(config_path: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """The district's ``sync2 serve``, as a user runs it; yields its URL once it answers."""
    command = [sys.executable, "-m", "sync2.cli", "serve", "--config", str(config_path)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                msg = "the district's sync2 serve did not start"
                raise RuntimeError(msg)
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _page_everything(url: str, token: str) -> tuple[int, int, float]:
    """(resources, pages, seconds) to page every Observation with ``_count=1000``."""
    served = pages = 0
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    link: str | None = f"{url}/ws/fhir2/R4/Observation?_count=1000"
    with httpx.Client(headers=headers, timeout=120) as client:
        t0 = time.perf_counter()
        while link:
            response = client.get(link)
            response.raise_for_status()
            bundle = response.json()
            pages += 1
            served += len(bundle.get("entry") or [])
            link = next(
                (x["url"] for x in bundle.get("link") or [] if x.get("relation") == "next"), None
            )
        return served, pages, time.perf_counter() - t0


def face_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Sync a hospital into a district, serve it, page it, chain it to a national passport."""
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    per_patient = 50
    spec = {"hospitals": 1, "patients": max(1, args["obs"] // per_patient)}
    token = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC2_")}
    with simulators({**spec, "obs_per_patient": per_patient}) as servers:
        hospital = servers[0]
        env["HOSPITAL_PASSWORD"] = hospital["password"]
        port = _free_port()
        district_path = _district_config(workdir, hospital, port, token)
        district_config = load_config(district_path, env=env)
        district = open_store(district_config.passport.store)
        pipeline = Pipeline(district_config, district)
        district_ok = all(s.ok for s in pipeline.sync_all())
        pipeline.close()
    obs = district.count_records(hospital["id"], "Observation", valid_only=True)
    rows = district.count_records(hospital["id"], "Observation")
    district.close()
    with _serve(district_path, port, env) as url:
        served, pages, page_s = _page_everything(url, token)
        national_config = load_config(
            _national_config(workdir, url), env={**env, "DISTRICT_TOKEN": token}
        )
        national = open_store(national_config.passport.store)
        pipeline = Pipeline(national_config, national)
        t0 = time.perf_counter()
        chain_ok = all(s.ok for s in pipeline.sync_all())
        chain_s = time.perf_counter() - t0
        pipeline.close()
    chain_obs = national.count_records("district", "Observation", valid_only=True)
    national.close()
    return {
        "ok": district_ok and chain_ok,
        "expected_obs": hospital["observations"],
        "obs": obs,
        "obs_rows": rows,
        "served": served,
        "pages": pages,
        "served_per_s": served / page_s if page_s else 0.0,
        "chain_obs": chain_obs,
        "chain_s": chain_s,
        "chain_obs_per_s": chain_obs / chain_s if chain_s else 0.0,
    }
