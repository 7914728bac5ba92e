"""The console's admin actions over HTTP, against the real engine where one exists."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mappers import normalise_national_id
from sync2.service import Service
from sync2.store import AuditEntry, Conflict, WriteBatch

from .conftest import TestClient, sign_in


def _conflict_from_both_sides(service: Service, hospital: Any, row: int) -> tuple[Conflict, str]:
    """A real demographic conflict: the passport and the hospital change one birth date
    (each test its own patient: the simulated hospitals live for the whole module)."""
    service.sync_all(actor="test")
    patient = hospital.patients.rows[row]
    nid = normalise_national_id(patient.national_id)
    service.pipeline.edit_patient(nid, {"birth_date": "1970-01-31"}, actor="test")
    hospital.update_patient(patient.uuid, birthdate="1971-02-28")
    service.sync_source(hospital.id, actor="test")
    (conflict,) = service.store.list_conflicts()
    return conflict, nid


def test_merge_takes_each_field_from_the_side_the_admin_picked(
    client: TestClient, service: Service, servers: list[Any]
) -> None:
    conflict, nid = _conflict_from_both_sides(service, servers[1].hospital, 0)
    csrf = sign_in(client)
    page = client.get(f"/admin/conflicts/{conflict.id}").text
    assert 'name="pick.birth_date"' in page
    r = client.post(
        f"/admin/conflicts/{conflict.id}/resolve",
        data={"csrf_token": csrf, "how": "merge", "pick.birth_date": "source"},
    )
    assert (r.status_code, r.headers["location"]) == (303, "/admin/conflicts")
    shown = service.store.get_patient(nid)
    assert shown is not None and shown["birth_date"] == "1971-02-28"
    done = service.store.get_conflict(conflict.id or 0)
    assert done is not None and done.resolution == "merged by admin:ops"


def test_a_second_resolution_is_refused_with_the_engines_reason(
    client: TestClient, service: Service, servers: list[Any]
) -> None:
    conflict, nid = _conflict_from_both_sides(service, servers[1].hospital, 1)
    csrf = sign_in(client)
    path = f"/admin/conflicts/{conflict.id}/resolve"
    assert client.post(path, data={"csrf_token": csrf, "how": "passport"}).status_code == 303
    again = client.post(path, data={"csrf_token": csrf, "how": "source"})
    assert again.status_code == 303
    assert "already resolved" in client.get(again.headers["location"]).text
    shown = service.store.get_patient(nid)
    assert shown is not None and shown["birth_date"] == "1970-01-31"  # the passport's kept


def test_a_link_review_links_to_a_proposed_candidate_only(
    client: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.store.apply(
        WriteBatch(
            conflicts=[
                Conflict(
                    source="central",
                    resource_type="PatientLink",
                    uuid="central:p-9",
                    base=None,
                    passport={"patient_id": None},
                    incoming={"case": "demographic-candidates", "candidates": ["NID1", "NID2"]},
                    reason="same name, birth date and gender as 2 passport patients",
                )
            ]
        )
    )
    (conflict,) = service.store.list_conflicts()
    calls: list[tuple[Any, ...]] = []

    def resolve(conflict_id: int, *, take: Any, merged: Any, actor: str) -> Conflict:
        calls.append((conflict_id, take, merged, actor))
        return conflict

    monkeypatch.setattr(service.pipeline, "resolve_conflict", resolve)
    csrf = sign_in(client)
    page = client.get(f"/admin/conflicts/{conflict.id}").text
    assert re.findall(r'name="patient_id" value="([^"]+)"', page) == ["NID1", "NID2"]
    path = f"/admin/conflicts/{conflict.id}/resolve"
    bad = client.post(path, data={"csrf_token": csrf, "how": "link", "patient_id": "NID3"})
    assert bad.status_code == 400 and calls == []
    ok = client.post(path, data={"csrf_token": csrf, "how": "link", "patient_id": "NID2"})
    assert ok.status_code == 303
    assert calls == [(conflict.id, None, {"patient_id": "NID2"}, "admin:ops")]


def test_start_takes_the_apis_interval_in_minutes(client: TestClient, service: Service) -> None:
    csrf = sign_in(client)
    for bad in ("0", "-3", "1e308", "nan", "ten"):
        r = client.post(
            "/admin/scheduler/start", data={"csrf_token": csrf, "interval_minutes": bad}
        )
        assert r.status_code == 400, bad
    assert not service.scheduler.running
    r = client.post("/admin/scheduler/start", data={"csrf_token": csrf, "interval_minutes": "2.5"})
    assert r.status_code == 303
    assert service.scheduler.running and service.scheduler.interval_override == 150.0
    client.get("/admin/overview/hospitals")  # a poll of the table between action and page
    assert "scheduler started (every 2.5 min interval)" in client.get("/admin/").text
    client.post("/admin/scheduler/stop", data={"csrf_token": csrf})
    assert not service.scheduler.running


def test_the_audit_log_pages_and_searches(client: TestClient, service: Service) -> None:
    for i in range(120):
        service.store.add_audit(
            AuditEntry(kind="manual", message=f"entry {i:03d}", actor="admin:x", ts=1000.0 + i)
        )
    sign_in(client)  # adds its own "console" entry, the newest
    first = client.get("/admin/audit?kind=manual").text
    assert first.count("<tr><td>") == 50 and "entry 119" in first and 'id="next-page"' in first
    third = client.get("/admin/audit?kind=manual&page=3").text
    assert third.count("<tr><td>") == 20 and "entry 000" in third
    assert 'id="next-page"' not in third and 'id="prev-page"' in third
    found = client.get("/admin/audit?q=ENTRY+07").text
    assert re.findall(r"entry 07\d", found) == [f"entry 07{i}" for i in range(9, -1, -1)]
