"""What the pages show, over HTTP: the API's figures, the passport's record types, the vendored
scripts as pinned."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from mappers.documents import RecordDoc
from sync2.service import Service
from sync2.store import Conflict, FailedEvent, WriteBatch
from sync2.store._base import FAILED_DEAD

from .conftest import ADMIN_TOKEN, TestClient, sign_in

VENDOR = Path(__file__).resolve().parents[2] / "sync2" / "console" / "static" / "vendor"


def _cells(html: str, source: str) -> dict[str, str]:
    """The data-field cells of one hospital's overview row, as text."""
    row = re.search(rf'<tr id="hospital-\d+" data-source="{source}">(.*?)</tr>', html, re.S)
    assert row, f"no overview row for {source}"
    cells = re.findall(r'data-field="([a-z-]+)">(.*?)</td>', row.group(1), re.S)
    return {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in cells}


def test_the_overview_shows_the_apis_figures(
    client: TestClient, service: Service, servers: list[Any]
) -> None:
    service.sync_all(actor="test")
    central = servers[0].hospital
    obs = central.valid_observations()
    service.store.apply(
        WriteBatch(
            failed=[
                FailedEvent(source="central", resource_type="Observation", uuid=o["id"], error="e")
                for o in obs[:2]
            ]
            + [FailedEvent("central", "Observation", obs[2]["id"], error="e", state=FAILED_DEAD)],
            conflicts=[Conflict("north", "Observation", "obs-x", None, {"value": 1}, {"value": 2})],
        )
    )
    sign_in(client)
    page = client.get("/admin/").text
    api = client.get(
        "/api/openmrs-sync/status", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json()["data"]
    conflicts = client.get(
        "/api/openmrs-sync/conflicts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json()["data"]
    for source in api["sources"]:
        shown = _cells(page, source["id"])
        assert int(shown["failed"]) == source["failed_open"]
        assert int(shown["dead"]) == source["failed_dead"]
        assert int(shown["conflicts"]) == sum(c["source"] == source["id"] for c in conflicts)
        assert f"{source['last_run']['written']} written" in shown["last-run"]
    assert _cells(page, "central")["failed"] == "2" and _cells(page, "central")["dead"] == "1"
    assert _cells(page, "north")["conflicts"] == "1"
    for s in servers:  # records: what the simulator holds, observations and encounters
        truth = len(s.hospital.valid_resources("Observation")) + len(
            s.hospital.valid_resources("Encounter")
        )
        assert _cells(page, s.hospital.id)["records"] == str(truth)


def test_the_summary_shows_a_section_for_each_record_type_the_passport_holds(
    client: TestClient, service: Service
) -> None:
    service.store.register_patient("NID77", {"national_id": "NID-77", "name": "Ada Obi"})

    def record(uuid: str, rtype: str, name: str, value: str | None = None) -> RecordDoc:
        return RecordDoc(
            source="central",
            resource_type="AllergyIntolerance" if rtype == "allergy" else "Observation",
            uuid=uuid,
            patient_uuid="p-77",
            type=rtype,
            name=name,
            value=value,
            effective="2024-03-01T10:00:00+00:00",
            patient_id="NID77",
        )

    sign_in(client)
    empty = client.get("/admin/patient?nid=NID-77").text
    assert "Ada Obi" in empty and 'id="summary-' not in empty
    service.store.apply(
        WriteBatch(
            records=[
                record("a1", "allergy", "Penicillin"),
                record("c1", "condition", "Problem list", "Malaria"),
            ]
        )
    )
    page = client.get("/admin/patient?nid=NID-77").text
    sections = re.findall(r'id="summary-([a-z]+)"', page)
    assert sections == ["allergy", "condition"]
    assert "Penicillin" in page and "Malaria" in page
    assert 'id="summary-medication"' not in page


def test_the_vendored_scripts_are_the_pinned_files_with_their_licences(
    client: TestClient,
) -> None:
    manifest = json.loads((VENDOR / "vendored.json").read_text())
    assert {entry["npm"] for entry in manifest.values()} == {"htmx.org@2.0.11", "uplot@1.6.32"}
    for name, entry in manifest.items():
        assert "LICENSE" in entry["files"], name
        for filename, spec in entry["files"].items():
            data = (VENDOR / name / filename).read_bytes()
            assert hashlib.sha256(data).hexdigest() == spec["sha256"], f"{name}/{filename}"
            served = client.get(f"/admin/static/vendor/{name}/{filename}")
            assert served.status_code == 200 and served.content == data
    assert "Permission" in client.get("/admin/static/vendor/uplot/LICENSE").text
