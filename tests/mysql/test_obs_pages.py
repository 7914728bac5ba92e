"""The obs stream's one-read pages: every live obs once, whatever the page size, with its
group members found even when they fall in another page than their group.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_mysql_source import drain, rw, source

pytestmark = pytest.mark.mysql


def _live_obs(openmrs: Any, db: str) -> set[str]:
    conn = openmrs.root(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT uuid FROM obs WHERE voided = 0")
            return {str(row[0]) for row in cur.fetchall()}
    finally:
        conn.close()


def _observations(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if v["resourceType"] == "Observation"}


@pytest.mark.parametrize("page_size", [1, 3, 500])
def test_every_live_obs_once_at_any_page_size(openmrs, page_size):
    src = source(openmrs.dsn("omrs"), page_size=page_size)
    found, _, failures = drain(src, {})
    src.close()
    unmapped = {f.uuid for f in failures if f.resource_type == "Observation"}
    expected = _live_obs(openmrs, "omrs") - unmapped
    assert len(expected) > 5
    assert set(_observations(found)) == expected


def test_group_members_across_pages(openmrs, fresh_db):
    conn = rw(openmrs, fresh_db)
    with conn.cursor() as cur:
        cur.execute("SELECT MAX(obs_id) FROM obs")
        (top,) = cur.fetchone()
        group, members = top + 10, [top + 11, top + 12, top + 13]
        copy = (
            "INSERT INTO obs (obs_id, obs_group_id, voided, person_id, concept_id, encounter_id, "
            "obs_datetime, value_numeric, creator, date_created, uuid) "
            "SELECT %s, %s, %s, person_id, concept_id, encounter_id, obs_datetime, "
            "value_numeric, 1, NOW(), %s FROM obs WHERE obs_id = 10"
        )
        cur.execute(copy, [group, None, 0, "group-obs"])
        for n, obs_id in enumerate(members):  # the middle member is voided
            cur.execute(copy, [obs_id, group, int(n == 1), f"member-{n}"])
    conn.commit()
    conn.close()
    src = source(openmrs.dsn(fresh_db), page_size=2)  # the group and its members split
    found, _, _ = drain(src, {})
    fetched = src.fetch("Observation", ["group-obs"]).found["group-obs"]
    src.close()
    expected = [
        {"reference": "Observation/member-0", "type": "Observation"},
        {"reference": "Observation/member-2", "type": "Observation"},
    ]
    assert found["group-obs"]["hasMember"] == expected
    assert fetched["hasMember"] == expected
    assert "hasMember" not in found["member-0"]
