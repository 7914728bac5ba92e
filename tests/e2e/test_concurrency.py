"""Hospitals sync in parallel; a person seen at several of them keeps every hospital's version."""

from __future__ import annotations

from typing import Any

from mappers import MappingContext, map_patients


def test_parallel_hospitals_keep_every_version_of_a_shared_patient(
    servers: list[Any], make_passport: Any
) -> None:
    _config, store, pipeline = make_passport(servers)
    assert all(s.ok for s in pipeline.sync_all(concurrency=3))
    seen: dict[str, set[str]] = {}
    for server in servers:
        ctx = MappingContext(
            source=server.hospital.id,
            hospital=server.hospital.name,
            identifier_types=("National ID",),
        )
        for doc in map_patients(server.hospital.valid_resources("Patient"), ctx):
            if doc.national_id:
                seen.setdefault(doc.national_id, set()).add(server.hospital.id)
    shared = {nid: hs for nid, hs in seen.items() if len(hs) > 1}
    assert shared
    for nid, hospitals in shared.items():
        patient = store.get_patient(nid)
        assert patient is not None
        assert set(patient["sources"]) == hospitals, nid
