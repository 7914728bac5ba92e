"""The parent feed's pages read from the store: which rows a category's page ``n`` holds.

Categories are named as a hospital's: ``patient`` (the hospital patients the passport links),
and each clinical type by its FHIR name in lower case (``observation``, ``encounter``,
``allergyintolerance``, ...), so a type the passport learns to hold gets its feed with no change
here. ``visit``, ``location``, ``practitioner`` and ``provider`` answer empty feeds: visits are in
``encounter`` (a visit is a FHIR Encounter), and doctors and locations keep no passport change
time; a child reads those through the FHIR search its first sync makes anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..store import PassportStore
from ..store._changes import ChangeScan
from ._feed import PAGE_SIZE, FeedEntry, address_filter, entry_of, last_page
from ._resources import JSON, VIA_TAG, tag_codes

EMPTY_CATEGORIES = frozenset({"visit", "location", "practitioner", "provider"})
_ALIASES = {"obs": "Observation", "person": "Patient"}


class UnknownCategory(LookupError):
    """No feed of that name (404)."""


class NoSuchPage(LookupError):
    """A page number outside 1..recent (404; OpenMRS answers 500)."""


@dataclass(frozen=True, slots=True)
class FeedSlice:
    number: int
    total_pages: int  # at least number + 1 when a later page exists (all the links need)
    entries: list[FeedEntry]


def category_type(category: str, record_types: tuple[str, ...]) -> str | None:
    """The resource type a category feeds; None for the empty categories.

    >>> category_type("observation", ("Observation",)), category_type("visit", ())
    ('Observation', None)
    """
    if category in EMPTY_CATEGORIES:
        return None
    if category in _ALIASES:
        return _ALIASES[category]
    if category == "patient":
        return "Patient"
    for rtype in record_types:
        if rtype.lower() == category:
            return rtype
    raise UnknownCategory(category)


class ParentFeed:
    """Reads feed pages for one caller (its own rows are left out, as in the FHIR face)."""

    def __init__(self, store: PassportStore, record_types: tuple[str, ...]) -> None:
        self.store = store
        self.record_types = record_types

    def page(self, category: str, number: int | None, caller: str | None) -> FeedSlice:
        """Page ``number`` of a category, or its ``recent`` page when ``number`` is None.

        Raises:
            UnknownCategory, NoSuchPage.
        """
        rtype = category_type(category, self.record_types)
        if rtype is None:
            if number is not None:
                msg = f"{category}/{number}"
                raise NoSuchPage(msg)
            return FeedSlice(0, 0, [])
        own = (caller,) if caller else ()
        is_patient = rtype == "Patient"
        scan = ChangeScan(resource_types=None if is_patient else (rtype,), exclude_sources=own)
        scan_fn = self.store.scan_patient_links if is_patient else self.store.scan_records
        if number is None:  # recent: the highest page, which needs the count
            count_fn = (
                self.store.count_patient_links_scanned
                if is_patient
                else self.store.count_records_scanned
            )
            number = last_page(count_fn(scan))
            if number == 0:
                return FeedSlice(0, 0, [])
        if number < 1:
            msg_0 = f"{category}/{number}"
            raise NoSuchPage(msg_0)
        # one row past the page tells whether a next page exists, without counting them all
        rows = scan_fn(scan, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
        if not rows:
            msg_0 = f"{category}/{number}"
            raise NoSuchPage(msg_0)
        total_pages = number + 1 if len(rows) > PAGE_SIZE else number
        rows = rows[:PAGE_SIZE]
        # rows that came through the caller stay in the numbering (so pages do not depend on
        # what is in them) but are not announced to it
        rows = [
            r for r in rows if not (caller and caller in tag_codes(r.get("raw") or {}, VIA_TAG))
        ]
        if is_patient:  # a hospital patient's change is news of its passport patient
            rows = [{**r, "uuid": r["patient_id"]} for r in rows]
        address_of = self._address_of(is_patient)
        return FeedSlice(number, total_pages, [entry_of(r, rtype, address_of) for r in rows])

    def _address_of(self, is_patient: bool) -> Callable[[JSON], str | None]:
        cache: dict[str, str | None] = {}

        def _patient_address(doc: JSON) -> str | None:
            if is_patient:
                return address_filter((doc.get("raw") or {}).get("address"))
            pid = doc.get("patient_id")
            if not pid:
                return None
            if pid not in cache:
                patient = self.store.get_patient(str(pid)) or {}
                cache[pid] = address_filter(patient.get("addresses"))
            return cache[pid]

        return _patient_address
