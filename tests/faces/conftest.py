"""A district passport served by a real ``sync2 serve`` process on 127.0.0.1.

Simulated hospitals (real HTTP) are synced into a SQLite passport by the engine in this process;
``sync2 serve`` (scheduler off) serves that same file. Records of the types the passport does
not map yet (allergies, conditions, medications, reports) are written straight into the store,
as hand-written FHIR resources, for the patient the tests read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mappers import MappingContext, map_resource
from mappers.documents import RecordDoc
from sync2.config import Config, load_config
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import PassportStore, WriteBatch, open_store

DOCTOR_TOKEN = "doctor-token-for-fhir-tests-0001"
ADMIN_TOKEN = "admin-token-for-fhir-tests-00001"
NATIONAL_TOKEN = "national-token-for-chain-0000001"
#: A token named after one of the district's own sources: it must never get that source's rows.
CENTRAL_TOKEN = "central-token-for-echo-tests-001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hospital_sources(servers: list[Any]) -> str:
    return "".join(
        f'[[sources]]\nid = "{s.hospital.id}"\nname = "{s.hospital.name}"\n'
        f'base_url = "{s.url}"\nusername = "{s.username}"\npassword = "{s.password}"\n'
        'feeds = ["location", "patient", "visit", "encounter", "observation"]\n'
        "interval_seconds = 3600\n\n"
        for s in servers
    )


def start_serve(config_path: Path, port: int) -> subprocess.Popen[str]:
    """``sync2 serve`` as a user runs it; returns once ``/healthz`` answers."""
    command = [sys.executable, "-m", "sync2.cli", "serve", "--config", str(config_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC2_")}
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"sync2 serve exited: {proc.stderr.read() if proc.stderr else ''}"
            raise RuntimeError(msg)
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    msg = "sync2 serve did not answer /healthz within 30 s"
    raise RuntimeError(msg)


def stop(proc: subprocess.Popen[str]) -> str:
    """Stop ``sync2 serve``; what it logged."""
    proc.terminate()
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err or ""


@dataclass
class District:
    """The district passport: its hospitals, its store (shared with its ``sync2 serve``)."""

    servers: list[Any]
    config: Config
    config_path: Path
    store: PassportStore
    pipeline: Pipeline
    url: str
    extra: dict[str, RecordDoc]

    @property
    def fhir(self) -> str:
        return f"{self.url}/ws/fhir2/R4"

    def sync(self) -> int:
        """One run over every hospital; how many writes it made."""
        written = 0
        for source in self.config.sources:
            summary = self.pipeline.sync_source(source.id)
            assert summary.ok, summary.error
            written += summary.written
        return written

    def headers(self, token: str = DOCTOR_TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def write_config(path: Path, servers: list[Any], store: Path, port: int) -> None:
    tokens = path.parent / "tokens.txt"
    tokens.write_text(
        f"doctor reader {DOCTOR_TOKEN}\nadmin ops {ADMIN_TOKEN}\n"
        f"doctor national {NATIONAL_TOKEN}\ndoctor central {CENTRAL_TOKEN}\n",
        encoding="utf-8",
    )
    tokens.chmod(0o600)
    path.write_text(
        f'[passport]\nstore = "sqlite:///{store}"\n\n'
        '[matching]\nidentifier_types = ["National ID"]\n\n'
        f'[admin]\nport = {port}\nauto_start = false\ntoken_file = "{tokens}"\n\n'
        + hospital_sources(servers),
        encoding="utf-8",
    )


def most_shared_patient(store: PassportStore) -> str:
    """The passport patient linked at the most hospitals (the richest history)."""
    rows = store.scan_patient_links(_all_links(), limit=10_000)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["patient_id"]] = counts.get(row["patient_id"], 0) + 1
    return max(sorted(counts), key=lambda pid: counts[pid])


def _all_links() -> Any:
    from sync2.store._changes import ChangeScan

    return ChangeScan()


def _concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        concept["text"] = text
    return concept


def new_type_records(store: PassportStore, patient_id: str) -> dict[str, RecordDoc]:
    """One hand-written record of each type the passport does not map yet, for one patient."""
    link = store.get_patient_link_docs(patient_id)[0]
    source, patient_uuid = link["source"], link["uuid"]
    subject = {"reference": f"Patient/{patient_uuid}"}
    tsys = "http://terminology.hl7.org/CodeSystem/"
    resources = {
        "AllergyIntolerance": {
            "clinicalStatus": _concept(f"{tsys}allergyintolerance-clinical", "active"),
            "code": _concept("http://snomed.info/sct", "91936005", "Penicillin"),
            "patient": subject,
        },
        "Condition": {
            "clinicalStatus": _concept(f"{tsys}condition-clinical", "active"),
            "code": _concept("http://snomed.info/sct", "44054006", "Diabetes"),
            "subject": subject,
        },
        "MedicationRequest": {
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Metformin 500 mg"},
            "subject": subject,
        },
        "DiagnosticReport": {
            "status": "final",
            "code": _concept("http://loinc.org", "24331-1", "Lipid panel"),
            "subject": subject,
        },
    }
    dates = {
        "AllergyIntolerance": "recordedDate",
        "Condition": "recordedDate",
        "MedicationRequest": "authoredOn",
        "DiagnosticReport": "effectiveDateTime",
    }
    hospital = next(h.get("name") for h in [*store.list_hospitals(), {"name": source}])
    ctx = MappingContext(source=source, hospital=hospital)
    records: dict[str, RecordDoc] = {}
    for index, (rtype, body) in enumerate(resources.items()):
        uuid = f"0000000{index}-aaaa-4bbb-8ccc-000000000001"
        raw = {
            "resourceType": rtype,
            "id": uuid,
            "meta": {"versionId": "1735725600000", "lastUpdated": "2025-01-01T10:00:00+00:00"},
            dates[rtype]: f"2025-01-0{index + 1}T10:00:00+00:00",
            **body,
        }
        doc = map_resource(raw, ctx)  # stored as the engine would store it
        assert isinstance(doc, RecordDoc)
        doc.patient_id = patient_id
        records[rtype] = doc
    store.apply(WriteBatch(records=list(records.values())))
    return records


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    hospitals = generate_hospitals(n=2, patients=6, obs_per_patient=4, seed=15)
    folder = tmp_path_factory.mktemp("district")
    with serve_hospitals(hospitals) as servers:
        port = free_port()
        config_path = folder / "district.toml"
        write_config(config_path, servers, folder / "district.db", port)
        config = load_config(config_path)
        store = open_store(config.passport.store)
        pipeline = Pipeline(config, store)
        district = District(servers, config, config_path, store, pipeline, "", {})
        district.sync()
        district.extra = new_type_records(store, most_shared_patient(store))
        proc = start_serve(config_path, port)
        district.url = f"http://127.0.0.1:{port}"
        try:
            yield district
        finally:
            logged = stop(proc)
            national_ids = {d["patient_id"] for d in store.scan_patient_links(_all_links())}
            pipeline.close()
            store.close()
        # the service logged its requests (route templates), never a national ID
        assert "request" in logged
        assert not [nid for nid in national_ids if nid in logged]
