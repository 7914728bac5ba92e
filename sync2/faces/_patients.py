"""Patients as the face serves them: one Patient per passport patient, id = its passport id.

A person known at three hospitals is three hospital patients in the passport (links) and one
passport patient; a reader (or a child passport, whose matching would take three patients of one
source with one national ID for a conflict) must see one. The Patient is the preferred
hospital's own resource under the passport id, with every hospital patient's uuid kept as an
identifier. Its change time is its newest link's, so paging by links in change order, a patient
is served at its newest link only.
"""

from __future__ import annotations

from dataclasses import dataclass

from mappers import normalise_national_id

from ..store import PassportStore
from ..store._changes import ChangeKey, ChangeScan
from ._filters import all_of, came_through, patient_checks
from ._query import SearchQuery
from ._resources import JSON, serve_patient
from ._rows import Page, row_key, rows


@dataclass(frozen=True, slots=True)
class PatientView:
    key: ChangeKey  # the newest link's change key
    resource: JSON


class Patients:
    """Passport patients over a store, for one caller (its own links are left out)."""

    def __init__(self, store: PassportStore, hospitals: dict[str, str]) -> None:
        self.store = store
        self.hospitals = hospitals

    def view(self, patient_id: str, caller: str | None) -> PatientView | None:
        """The served Patient of a passport patient, or None when none of its links is served."""
        scan = ChangeScan(patient_ids=(patient_id,), exclude_sources=(caller,) if caller else ())
        links = [
            d
            for d in self.store.scan_patient_links(scan, limit=1000)
            if not came_through(d, caller)
        ]
        if not links:
            return None
        newest = row_key(links[-1], "Patient")
        preferred = (self.store.get_patient(patient_id) or {}).get("demographics_from")
        links.sort(key=lambda d: (d["source"] != preferred, -float(d["changed_at"])))
        return PatientView(newest, serve_patient(patient_id, links, self.hospitals))

    def resolve(self, ref: str) -> set[str]:
        """The passport patients a reference names: a passport id (national ID, however it is
        spelled) or a hospital patient's uuid."""
        for candidate in dict.fromkeys((ref, normalise_national_id(ref))):
            if candidate and self.store.get_patient(candidate) is not None:
                return {candidate}
        links = self.store.scan_patient_links(ChangeScan(uuids=(ref,)), limit=10)
        return {str(d["patient_id"]) for d in links}

    def search(
        self, query: SearchQuery, patient_ids: tuple[str, ...] | None, caller: str | None
    ) -> Page:
        since, until = query.since_until()
        wanted = patient_ids
        if query.ids is not None:
            ids = set(query.ids)
            wanted = tuple(sorted(ids if wanted is None else ids & set(wanted)))
        scan = ChangeScan(
            patient_ids=wanted,
            since=since,
            until=until,
            after=query.after,
            exclude_sources=(caller,) if caller else (),
        )
        keep = all_of(patient_checks(query))
        views: dict[str, PatientView | None] = {}
        out: list[JSON] = []
        next_key = None
        matched = 0
        for row in rows(self.store.scan_patient_links, scan, lambda d: True, "Patient"):
            pid = str(row["patient_id"])
            if pid not in views:
                views[pid] = self.view(pid, caller)
            view = views[pid]
            if view is None or view.key != row_key(row, "Patient") or not keep(view.resource):
                continue
            matched += 1
            if query.count == 0:
                continue
            out.append(view.resource)
            if len(out) == query.count:
                next_key = view.key
                break
        total = matched if query.count == 0 or (next_key is None and query.after is None) else None
        return Page(out, next_key, total, {str(r["id"]) for r in out})
