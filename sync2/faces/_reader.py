"""Reads and searches over the passport store, as the FHIR face answers them.

Search pages by keyset: a page ends at a row's change key, and the ``next`` link asks for the
rows after it. What the store indexes (type, patient, id, ``_lastUpdated``) goes into the scan;
what it cannot (code, category, date, name, tags) is checked here on each row, and a page keeps
reading the store until it is full or the rows run out, so a short page always means the end.

Nothing is served back to where it came from: rows of the caller's own source, and rows that
came through it (its code in ``urn:sync2:via``), are left out for that caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from mappers import normalise_national_id

from ..store import PassportStore
from ..store._changes import ChangeKey, ChangeScan
from ._query import DateBound, SearchQuery, Token
from ._resources import (
    JSON,
    VIA_TAG,
    _epoch,
    is_hidden,
    provenance,
    serve_directory,
    serve_record,
    tag_codes,
)

_SUPERSEDED = ("superseded",)
_SCAN_BATCH = 500
_CODE_KEYS = ("code", "medicationCodeableConcept", "type", "vaccineCode")


class NotFound(LookupError):
    """No such resource (404)."""


class Gone(LookupError):
    """The resource was replaced by an edit at its hospital (410, as fhir2 answers)."""


@dataclass(slots=True)
class Page:
    """One page of a search: served resources, where the next page starts, and the total when
    the store can count it without reading every row."""

    resources: list[JSON]
    next_key: ChangeKey | None
    total: int | None
    patient_ids: set[str]


def row_key(doc: JSON, resource_type: str) -> ChangeKey:
    return ChangeKey(float(doc["changed_at"]), str(doc["source"]), resource_type, str(doc["uuid"]))


class FhirReader:
    """The FHIR face's view of one passport; ``hospitals`` maps source ids to names."""

    def __init__(
        self, store: PassportStore, hospitals: dict[str, str], record_types: tuple[str, ...]
    ) -> None:
        self.store = store
        self.hospitals = hospitals
        self.record_types = record_types

    # -- reads -----------------------------------------------------------------------------
    def read(self, resource_type: str, rid: str, caller: str | None) -> tuple[JSON, set[str]]:
        """One resource by id, and the passport patients it belongs to (for the audit).

        Raises:
            NotFound: no such resource for this caller. Gone: superseded by an edit.
        """
        if resource_type in ("Practitioner", "Location"):
            for resource in self._directory(resource_type, caller):
                if resource["id"] == rid:
                    return resource, set()
            msg = f"{resource_type}/{rid}"
            raise NotFound(msg)
        if resource_type == "Provenance":
            return self._provenance_of(rid, caller)
        scan = ChangeScan(uuids=(rid,), exclude_sources=_own(caller))
        if resource_type == "Patient":
            docs = self.store.scan_patient_links(scan, limit=10)
            docs = [d for d in docs if not _came_through(d, caller)]
            if not docs:
                msg = f"Patient/{rid}"
                raise NotFound(msg)
            doc = docs[-1]
            return serve_directory(doc, "Patient", self.hospitals), {doc["patient_id"]}
        rows = self.store.scan_records(replace(scan, resource_types=(resource_type,)), limit=10)
        rows = [d for d in rows if not _came_through(d, caller)]
        if not rows:
            msg = f"{resource_type}/{rid}"
            raise NotFound(msg)
        valid = [d for d in rows if not is_hidden(d)]
        if not valid:
            msg = f"{resource_type}/{rid}"
            raise Gone(msg)
        doc = valid[-1]
        return serve_record(doc), {doc["patient_id"]} if doc.get("patient_id") else set()

    def _provenance_of(self, rid: str, caller: str | None) -> tuple[JSON, set[str]]:
        scan = ChangeScan(uuids=(rid,), exclude_sources=_own(caller))
        for doc in self.store.scan_records(scan, limit=10):
            if not _came_through(doc, caller) and not is_hidden(doc):
                return provenance(doc, str(doc["resource_type"])), {doc.get("patient_id") or ""}
        for doc in self.store.scan_patient_links(scan, limit=10):
            if not _came_through(doc, caller):
                doc = {**doc, "hospital": self.hospitals.get(doc["source"], doc["source"])}
                return provenance(doc, "Patient"), {doc["patient_id"]}
        msg = f"Provenance/{rid}"
        raise NotFound(msg)

    # -- searches --------------------------------------------------------------------------
    def search(self, query: SearchQuery, caller: str | None) -> Page:
        if query.resource_type in ("Practitioner", "Location"):
            return self._search_directory(query, caller)
        if query.resource_type == "Provenance":
            return self._search_provenance(query, caller)
        patient_ids = self._patient_ids(query)
        since, until = query.since_until()
        scan = ChangeScan(
            resource_types=None if query.resource_type == "Patient" else (query.resource_type,),
            patient_ids=patient_ids,
            uuids=query.ids,
            since=since,
            until=until,
            after=query.after,
            exclude_statuses=() if query.resource_type == "Patient" else _SUPERSEDED,
            exclude_sources=_own(caller),
        )
        keep = self._row_filter(query, caller)
        return self._page(query, scan, keep)

    def _page(self, query: SearchQuery, scan: ChangeScan, keep: Callable[[JSON], bool]) -> Page:
        is_patient = query.resource_type == "Patient"
        scan_fn = self.store.scan_patient_links if is_patient else self.store.scan_records
        filtered = keep is not _keep_all
        total = None
        if not filtered and query.after is None:
            count_fn = (
                self.store.count_patient_links_scanned
                if is_patient
                else self.store.count_records_scanned
            )
            total = count_fn(scan)
        if query.count == 0:
            if total is None:
                total = sum(1 for _ in _rows(scan_fn, scan, keep, query.resource_type))
            return Page([], None, total, set())
        out: list[JSON] = []
        patients: set[str] = set()
        next_key = None
        for doc in _rows(scan_fn, scan, keep, query.resource_type):
            out.append(
                serve_directory(doc, "Patient", self.hospitals) if is_patient else serve_record(doc)
            )
            if doc.get("patient_id"):
                patients.add(str(doc["patient_id"]))
            if len(out) == query.count:
                next_key = row_key(doc, query.resource_type)
                break
        return Page(out, next_key, total, patients)

    def _patient_ids(self, query: SearchQuery) -> tuple[str, ...] | None:
        """The passport patients a ``patient``/``subject``/national-ID ``identifier`` names."""
        wanted: tuple[str, ...] | None = None
        if query.patient is not None:
            wanted = tuple(sorted({pid for ref in query.patient for pid in self._resolve(ref)}))
        if query.resource_type == "Patient" and query.identifiers:
            by_nid = {
                normalise_national_id(t.code)
                for t in query.identifiers
                if self.store.get_patient(normalise_national_id(t.code)) is not None
            }
            if by_nid and len(by_nid) == len(query.identifiers):
                wanted = tuple(sorted(by_nid if wanted is None else by_nid & set(wanted)))
        return wanted

    def _resolve(self, ref: str) -> set[str]:
        """A patient reference: a passport patient id (national ID) or a hospital's uuid."""
        if self.store.get_patient(ref) is not None:
            return {ref}
        links = self.store.scan_patient_links(ChangeScan(uuids=(ref,)), limit=10)
        return {str(d["patient_id"]) for d in links}

    def _row_filter(self, query: SearchQuery, caller: str | None) -> Callable[[JSON], bool]:
        checks: list[Callable[[JSON], bool]] = []
        if caller:
            checks.append(lambda d: not _came_through(d, caller))
        if query.tags:
            checks.append(lambda d: _any_coding(_tags(d), query.tags))
        if query.categories:
            checks.append(lambda d: _any_coding(_codings(d, ("category",)), query.categories))
        if query.codes:
            checks.append(lambda d: _any_coding(_codings(d, _CODE_KEYS), query.codes))
        if query.dates:
            checks.append(lambda d: _dates_admit(query.dates, d.get("effective")))
        if query.names:
            checks.append(lambda d: _name_matches(d.get("raw") or {}, query.names))
        if query.birthdates:
            checks.append(
                lambda d: _dates_admit(query.birthdates, (d.get("raw") or {}).get("birthDate"))
            )
        if query.identifiers and query.resource_type == "Patient":
            checks.append(lambda d: _identifier_matches(d, query.identifiers))
        if not checks:
            return _keep_all
        return lambda d: all(check(d) for check in checks)

    # -- the patient summary ---------------------------------------------------------------
    def summary_parts(self, ref: str, caller: str | None) -> tuple[str, list[JSON], list[JSON]]:
        """(passport patient id, hospital Patient resources preferred first, valid records).

        Raises:
            NotFound: ``ref`` names no passport patient (or one only the caller's data has).
        """
        pids = self._resolve(ref) or self._resolve(normalise_national_id(ref))
        if len(pids) != 1:
            msg = f"Patient/{ref}"
            raise NotFound(msg)
        pid = next(iter(pids))
        own = _own(caller)
        not_echo = self._row_filter(SearchQuery("Patient"), caller)
        links = [
            d
            for d in _rows(
                self.store.scan_patient_links,
                ChangeScan(patient_ids=(pid,), exclude_sources=own),
                not_echo,
                "Patient",
            )
        ]
        if not links:
            msg = f"Patient/{ref}"
            raise NotFound(msg)
        preferred = (self.store.get_patient(pid) or {}).get("demographics_from")
        links.sort(key=lambda d: d["source"] != preferred)
        scan = ChangeScan(
            patient_ids=(pid,),
            exclude_statuses=("superseded", "entered-in-error"),
            exclude_sources=own,
        )
        records = [serve_record(d) for d in _rows(self.store.scan_records, scan, not_echo, "")]
        patients = [serve_directory(d, "Patient", self.hospitals) for d in links]
        return pid, patients, records

    # -- practitioners, locations, provenance ----------------------------------------------
    def _directory(self, resource_type: str, caller: str | None) -> list[JSON]:
        docs = (
            self.store.list_doctors()
            if resource_type == "Practitioner"
            else self.store.list_locations()
        )
        served = [
            serve_directory(d, resource_type, self.hospitals)
            for d in docs
            if d.get("source") != caller and not _came_through(d, caller)
        ]
        return sorted(served, key=lambda r: (r["meta"]["lastUpdated"], r["id"]))

    def _search_directory(self, query: SearchQuery, caller: str | None) -> Page:
        since, until = query.since_until()
        found = []
        for resource in self._directory(query.resource_type, caller):
            changed = _epoch(resource["meta"]["lastUpdated"])
            key = ChangeKey(changed, "", query.resource_type, resource["id"])
            if query.after is not None and key.as_tuple() <= query.after.as_tuple():
                continue
            if query.ids is not None and resource["id"] not in query.ids:
                continue
            if (since is not None and changed < since) or (until is not None and changed > until):
                continue
            if query.names and not _name_matches(resource, query.names):
                continue
            found.append((key, resource))
        page = found[: query.count]
        more = len(found) > query.count and query.count > 0
        return Page(
            [r for _, r in page] if query.count else [],
            page[-1][0] if more else None,
            len(found) if query.after is None else None,
            set(),
        )

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


def _keep_all(_doc: JSON) -> bool:
    return True


def _rows(
    scan_fn: Callable[..., list[JSON]],
    scan: ChangeScan,
    keep: Callable[[JSON], bool],
    resource_type: str,
) -> Iterator[JSON]:
    """Every row of the scan that passes ``keep``, reading the store a batch at a time."""
    while True:
        batch = scan_fn(scan, limit=_SCAN_BATCH)
        for doc in batch:
            if keep(doc):
                yield doc
        if len(batch) < _SCAN_BATCH:
            return
        scan = replace(
            scan, after=row_key(batch[-1], str(batch[-1].get("resource_type", resource_type)))
        )


def _own(caller: str | None) -> tuple[str, ...]:
    return (caller,) if caller else ()


def _came_through(doc: JSON, caller: str | None) -> bool:
    return bool(caller) and caller in tag_codes(doc.get("raw") or {}, VIA_TAG)


def _tags(doc: JSON) -> list[tuple[str | None, str | None]]:
    meta = (doc.get("raw") or {}).get("meta") or {}
    return [(t.get("system"), t.get("code")) for t in meta.get("tag") or [] if isinstance(t, dict)]


def _codings(doc: JSON, keys: tuple[str, ...]) -> list[tuple[str | None, str | None]]:
    raw = doc.get("raw") or {}
    found: list[tuple[str | None, str | None]] = (
        [(c.get("system"), c.get("code")) for c in doc.get("codes") or [] if isinstance(c, dict)]
        if keys == _CODE_KEYS
        else []
    )
    for key in keys:
        value = raw.get(key)
        concepts = value if isinstance(value, list) else [value]
        for concept in concepts:
            if isinstance(concept, dict):
                found += [
                    (c.get("system"), c.get("code"))
                    for c in concept.get("coding") or []
                    if isinstance(c, dict)
                ]
    return found


def _any_coding(codings: list[tuple[str | None, str | None]], tokens: tuple[Token, ...]) -> bool:
    return any(t.matches(system, code) for t in tokens for system, code in codings)


def _dates_admit(bounds: tuple[DateBound, ...], text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    when = _epoch(text if "T" in text else f"{text}T00:00:00+00:00")
    return all(b.admits(when) for b in bounds)


def _name_matches(resource: JSON, names: tuple[str, ...]) -> bool:
    """FHIR ``name``: any name part starts with the value, case-insensitively."""
    parts: list[str] = []
    raw_names = resource.get("name")
    if isinstance(raw_names, str):
        parts.append(raw_names)
    for name in raw_names if isinstance(raw_names, list) else []:
        if isinstance(name, dict):
            parts += [str(name.get("text") or ""), str(name.get("family") or "")]
            parts += [str(g) for g in name.get("given") or []]
    words = [w.casefold() for p in parts for w in [p, *p.split()] if w]
    return any(any(w.startswith(n) for w in words) for n in names)


def _identifier_matches(doc: JSON, tokens: tuple[Token, ...]) -> bool:
    """An identifier value (any system unless one is given), or the national ID normalised."""
    pid = doc.get("patient_id")
    for token in tokens:
        if pid and normalise_national_id(token.code) == pid:
            return True
        for ident in (doc.get("raw") or {}).get("identifier") or []:
            if isinstance(ident, dict) and token.matches(ident.get("system"), ident.get("value")):
                return True
    return False
