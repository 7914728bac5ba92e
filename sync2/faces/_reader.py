"""Reads and searches over the passport store, as the FHIR face answers them.

Search pages by keyset: a page ends at a row's change key, and the ``next`` link asks for the
rows after it. What the store indexes (type, patient, id, ``_lastUpdated``) goes into the scan;
what it cannot (code, category, date, name, tags) is checked on each row, and a page keeps reading
the store until it is full or the rows run out, so a short page always means the end.

Nothing is served back to where it came from: rows of the caller's own source, and rows that
came through it (its code in ``urn:sync2:via``), are left out for that caller.
"""

from __future__ import annotations

from ..store import PassportStore
from ..store._changes import ChangeScan
from ._filters import all_of, came_through, keep_all, name_matches, record_checks
from ._patients import Patients
from ._query import SearchQuery
from ._resources import JSON, _epoch, is_hidden, provenance, serve_directory, serve_record
from ._rows import Gone, NotFound, Page, row_key, rows

_SUPERSEDED = ("superseded",)
_DIRECTORY = ("Practitioner", "Location")

__all__ = ["FhirReader", "Gone", "NotFound", "Page"]


def _own(caller: str | None) -> tuple[str, ...]:
    return (caller,) if caller else ()


class FhirReader:
    """The FHIR face's view of one passport; ``hospitals`` maps source ids to names."""

    def __init__(self, store: PassportStore, hospitals: dict[str, str]) -> None:
        self.store = store
        self.hospitals = hospitals
        self.patients = Patients(store, hospitals)

    # -- reads -----------------------------------------------------------------------------
    def read(self, resource_type: str, rid: str, caller: str | None) -> tuple[JSON, set[str]]:
        """One resource by id, and the passport patients it belongs to (for the audit).

        Raises:
            NotFound: no such resource for this caller. Gone: superseded by an edit.
        """
        if resource_type in _DIRECTORY:
            for resource in self._directory(resource_type, caller):
                if resource["id"] == rid:
                    return resource, set()
            msg = f"{resource_type}/{rid}"
            raise NotFound(msg)
        if resource_type == "Provenance":
            return self._provenance_of(rid, caller)
        if resource_type == "Patient":
            view = self.patients.view(rid, caller)
            if view is None:
                msg = f"Patient/{rid}"
                raise NotFound(msg)
            return view.resource, {rid}
        scan = ChangeScan(
            resource_types=(resource_type,), uuids=(rid,), exclude_sources=_own(caller)
        )
        found = [d for d in self.store.scan_records(scan, limit=10) if not came_through(d, caller)]
        if not found:
            msg = f"{resource_type}/{rid}"
            raise NotFound(msg)
        valid = [d for d in found if not is_hidden(d)]
        if not valid:
            msg = f"{resource_type}/{rid}"
            raise Gone(msg)
        doc = valid[-1]
        return serve_record(doc), {str(doc["patient_id"])} if doc.get("patient_id") else set()

    def _provenance_of(self, rid: str, caller: str | None) -> tuple[JSON, set[str]]:
        scan = ChangeScan(uuids=(rid,), exclude_sources=_own(caller))
        for doc in self.store.scan_records(scan, limit=10):
            if not came_through(doc, caller) and not is_hidden(doc):
                return provenance(doc, str(doc["resource_type"])), {
                    str(doc.get("patient_id") or "")
                }
        view = self.patients.view(rid, caller)
        if view is not None:
            source = str(view.key.source)
            doc = {
                "uuid": rid,
                "source": source,
                "hospital": self.hospitals.get(source, source),
                "changed_at": view.key.changed_at,
            }
            return provenance(doc, "Patient"), {rid}
        msg = f"Provenance/{rid}"
        raise NotFound(msg)

    # -- searches --------------------------------------------------------------------------
    def search(self, query: SearchQuery, caller: str | None) -> Page:
        if query.resource_type in _DIRECTORY:
            return self._search_directory(query, caller)
        if query.resource_type == "Provenance":
            return self._search_provenance(query, caller)
        patient_ids = self._patient_ids(query)
        if query.resource_type == "Patient":
            return self.patients.search(query, patient_ids, caller)
        since, until = query.since_until()
        scan = ChangeScan(
            resource_types=(query.resource_type,),
            patient_ids=patient_ids,
            uuids=query.ids,
            since=since,
            until=until,
            after=query.after,
            exclude_statuses=_SUPERSEDED,
            exclude_sources=_own(caller),
        )
        return self._records_page(query, scan, caller)

    def _records_page(self, query: SearchQuery, scan: ChangeScan, caller: str | None) -> Page:
        keep = all_of(record_checks(query, caller))
        total = None
        if keep is keep_all and query.after is None:
            total = self.store.count_records_scanned(scan)
        if query.count == 0:
            if total is None:
                total = sum(1 for _ in rows(self.store.scan_records, scan, keep, ""))
            return Page([], None, total, set())
        out: list[JSON] = []
        patients: set[str] = set()
        next_key = None
        batch = max(query.count, 50)  # most rows pass: read about a page at a time
        for doc in rows(self.store.scan_records, scan, keep, "", batch):
            out.append(serve_record(doc))
            if doc.get("patient_id"):
                patients.add(str(doc["patient_id"]))
            if len(out) == query.count:
                next_key = row_key(doc, query.resource_type)
                break
        return Page(out, next_key, total, patients)

    def _patient_ids(self, query: SearchQuery) -> tuple[str, ...] | None:
        """The passport patients a ``patient``/``subject`` or a Patient ``identifier`` names."""
        wanted: tuple[str, ...] | None = None
        if query.patient is not None:
            wanted = tuple(sorted({p for ref in query.patient for p in self.patients.resolve(ref)}))
        if query.resource_type == "Patient" and query.identifiers:
            by_nid = [self.patients.resolve(t.code) for t in query.identifiers]
            if all(by_nid):  # every value is a national ID: the index finds them
                found = set().union(*by_nid)
                wanted = tuple(sorted(found if wanted is None else found & set(wanted)))
        return wanted

    # -- the patient summary ---------------------------------------------------------------
    def summary_parts(self, ref: str, caller: str | None) -> tuple[str, list[JSON], list[JSON]]:
        """(passport patient id, its Patient, its valid records), for the IPS.

        Raises:
            NotFound: ``ref`` names no passport patient (or one only the caller's data has).
        """
        pids = self.patients.resolve(ref)
        view = self.patients.view(next(iter(pids)), caller) if len(pids) == 1 else None
        if view is None:
            msg = f"Patient/{ref}"
            raise NotFound(msg)
        pid = str(view.resource["id"])
        scan = ChangeScan(
            patient_ids=(pid,),
            exclude_statuses=("superseded", "entered-in-error"),
            exclude_sources=_own(caller),
        )
        keep = all_of(record_checks(SearchQuery("Patient"), caller))
        records = [serve_record(d) for d in rows(self.store.scan_records, scan, keep, "")]
        return pid, [view.resource], records

    # -- practitioners, locations, provenance ----------------------------------------------
    def _directory(self, resource_type: str, caller: str | None) -> list[JSON]:
        if resource_type == "Practitioner":
            docs = self.store.list_doctors()
        else:
            docs = self.store.list_locations()
        served = [
            serve_directory(d, resource_type, self.hospitals)
            for d in docs
            if d.get("source") != caller and not came_through(d, caller)
        ]
        return sorted(served, key=lambda r: (r["meta"]["lastUpdated"], r["id"]))

    def _search_directory(self, query: SearchQuery, caller: str | None) -> Page:
        """Doctors and locations are few: filtered and paged in memory, by the same keyset."""
        since, until = query.since_until()
        found = []
        for resource in self._directory(query.resource_type, caller):
            changed = _epoch(resource["meta"]["lastUpdated"])
            key = row_key(
                {"changed_at": changed, "source": "", "uuid": resource["id"]}, query.resource_type
            )
            if query.after is not None and key.as_tuple() <= query.after.as_tuple():
                continue
            if query.ids is not None and resource["id"] not in query.ids:
                continue
            if (since is not None and changed < since) or (until is not None and changed > until):
                continue
            if query.names and not name_matches(resource, query.names):
                continue
            found.append((key, resource))
        page = found[: query.count]
        more = 0 < query.count < len(found)
        total = len(found) if query.after is None else None
        return Page([r for _, r in page], page[-1][0] if more else None, total, set())

    def _search_provenance(self, query: SearchQuery, caller: str | None) -> Page:
        out: list[JSON] = []
        patients: set[str] = set()
        for rid in (query.targets or ()) + (query.ids or ()):
            try:
                resource, who = self._provenance_of(rid, caller)
            except NotFound:
                continue
            out.append(resource)
            patients |= who
        return Page(out[: query.count], None, len(out), patients)
