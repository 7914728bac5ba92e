"""The OpenMRS atom feed: parse a page, read an entry, walk the pages after a marker.

Pure protocol logic. Nothing here does HTTP: the walker is handed a ``fetch_page(url)`` callable,
so tests feed it fixture pages and the engine hands it the FHIR client's transport.

A marker is what the atomfeed client keeps per feed: the id of the last entry read and the
``via`` URL (the canonical numbered page) that held it. Pages are append-only and 5 entries long;
the ``recent`` page is the highest-numbered one and may still grow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from .._errors import BadFeedError

ATOM = "{http://www.w3.org/2005/Atom}"
ACTIONS = frozenset({"CREATED", "UPDATED", "RETIRED", "UNRETIRED", "VOIDED", "UNVOIDED", "DELETED"})
#: Actions after which the object is no longer valid at the source.
REMOVING_ACTIONS = frozenset({"VOIDED", "RETIRED", "DELETED"})
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_FHIR_PATH = re.compile(r"/ws/fhir2?/(?:R4/|R3/)?([A-Za-z]+)/([^/?#]+)")
_REST_PATH = re.compile(r"/ws/rest/v1/([^?#]+)")
_FILTER = re.compile(r"<beanName>(.*?)</beanName>\s*<filter>(.*?)</filter>", re.S)

#: Atom feed category -> FHIR resource type (a visit is a FHIR Encounter).
CATEGORY_TYPES = {
    "patient": "Patient",
    "person": "Patient",
    "encounter": "Encounter",
    "visit": "Encounter",
    "observation": "Observation",
    "obs": "Observation",
    "location": "Location",
    "provider": "Practitioner",
    "practitioner": "Practitioner",
    "allergy": "AllergyIntolerance",
    "condition": "Condition",
    "diagnosis": "Condition",
    "drug_order": "MedicationRequest",
    "medication_dispense": "MedicationDispense",
    "test_order": "ServiceRequest",
    "diagnostic_report": "DiagnosticReport",
    # a sync2 passport's parent feed names its categories after the FHIR type, in lower case
    "allergyintolerance": "AllergyIntolerance",
    "medicationrequest": "MedicationRequest",
    "medicationdispense": "MedicationDispense",
    "servicerequest": "ServiceRequest",
    "diagnosticreport": "DiagnosticReport",
}
#: REST resource name (the path segment before the uuid) -> FHIR resource type.
REST_TYPES = {
    "patient": "Patient",
    "person": "Patient",
    "encounter": "Encounter",
    "bahmniencounter": "Encounter",
    "visit": "Encounter",
    "obs": "Observation",
    "provider": "Practitioner",
    "location": "Location",
    "allergy": "AllergyIntolerance",
    "drugorder": "MedicationRequest",
    "order": "MedicationRequest",
    "testorder": "ServiceRequest",
    "condition": "Condition",
    "patientdiagnoses": "Condition",
    "medicationdispense": "MedicationDispense",
}
#: The two feed dialects: Sync 2.0 (category + action, JSON links) and the classic atomfeed
#: module as Bahmni publishes it (one category, no action, a REST path as content).
SYNC2_DIALECT = "sync2"
CLASSIC_DIALECT = "classic"
#: The action of a classic entry: "this object changed", its current state says how.
CHANGED = "CHANGED"
#: FHIR types named in feed links that fhir2 R4 serves under another name: atomfeed's published
#: fhir2 link configuration still says ProcedureRequest (DSTU3) for test orders.
_R4_NAMES = {"Person": "Patient", "ProcedureRequest": "ServiceRequest"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(slots=True, frozen=True)
class FeedFilterTag:
    """A parent's catchment tag on an entry (Sync 2.0 feed filter)."""

    bean: str
    value: str


@dataclass(slots=True)
class FeedEntry:
    id: str
    title: str
    updated: str
    categories: list[str]
    content: str


@dataclass(slots=True)
class FeedPage:
    url: str
    self_url: str | None
    via_url: str | None
    next_archive: str | None
    prev_archive: str | None
    entries: list[FeedEntry] = field(default_factory=list)


@dataclass(slots=True)
class ChangeEvent:
    """One feed entry, understood: what changed, how, and where in the feed it sits."""

    category: str
    action: str
    resource_type: str
    uuid: str
    entry_id: str
    page_url: str
    updated: str
    filters: list[FeedFilterTag] = field(default_factory=list)
    dialect: str = SYNC2_DIALECT
    #: the owner named before the object in a REST path (``patient/{p}/allergy/{a}``: p)
    parent_uuid: str | None = None


def parse_page(body: bytes, url: str) -> FeedPage:
    """Parse one atom page.

    Raises:
        BadFeedError: the body is not an Atom feed (the message names the URL).
    """
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        msg = f"feed page {url} is not valid XML: {exc}"
        raise BadFeedError(msg) from exc
    if root.tag != f"{ATOM}feed":
        msg = f"feed page {url} is not an Atom feed (root element {root.tag!r})"
        raise BadFeedError(msg)
    links: dict[str, str] = {}
    for link in root.findall(f"{ATOM}link"):
        rel, href = link.get("rel"), link.get("href")
        if rel and href and rel not in links:
            links[rel] = href
    entries = []
    for node in root.findall(f"{ATOM}entry"):
        content_node = node.find(f"{ATOM}content")
        entries.append(
            FeedEntry(
                id=(node.findtext(f"{ATOM}id") or "").strip(),
                title=(node.findtext(f"{ATOM}title") or "").strip(),
                updated=(node.findtext(f"{ATOM}updated") or "").strip(),
                categories=[c.get("term") or "" for c in node.findall(f"{ATOM}category")],
                content=_strip_cdata(content_node.text if content_node is not None else ""),
            )
        )
    return FeedPage(
        url=url,
        self_url=links.get("self"),
        via_url=links.get("via"),
        next_archive=links.get("next-archive"),
        prev_archive=links.get("prev-archive"),
        entries=entries,
    )


def _strip_cdata(text: str | None) -> str:
    text = (text or "").strip()
    if text.startswith("<![CDATA[") and text.endswith("]]>"):
        text = text[9:-3]
    return text.strip()


def parse_filter_tag(term: str) -> FeedFilterTag | None:
    """Read a Sync 2.0 feed-filter category term (escaped XML inside the attribute).

    >>> parse_filter_tag('<?xml version="1.0"?><feedFilter><beanName>b</beanName>'
    ...                  '<filter>Poland%*%*%*%*</filter></feedFilter>')
    FeedFilterTag(bean='b', value='Poland%*%*%*%*')
    >>> parse_filter_tag("patient") is None
    True
    """
    if "feedFilter" not in term:
        return None
    match = _FILTER.search(term)
    if match is None:
        return None
    return FeedFilterTag(bean=match.group(1).strip(), value=match.group(2).strip())


def read_entry(entry: FeedEntry, page_url: str) -> ChangeEvent:
    """Turn a feed entry of either dialect into a change event.

    The dialect is recognised per entry: an action term makes it a Sync 2.0 entry; a single
    category with no action is a classic (Bahmni-style) entry, read as "this object changed".

    Raises:
        BadFeedError: no category, content neither JSON links nor a path, no type or uuid.
    """
    where = f"entry {entry.id or '(no id)'} on {page_url}"
    if not entry.id:
        msg = f"{where}: entry has no <id>"
        raise BadFeedError(msg)
    filters: list[FeedFilterTag] = []
    action = category = None
    for term in entry.categories:
        tag = parse_filter_tag(term)
        if tag is not None:
            filters.append(tag)
        elif term in ACTIONS:
            action = action or term
        elif term and category is None:
            category = term.lower()
    if category is None:
        shown = sorted(t for t in entry.categories if "<" not in t)
        msg = f"{where}: categories {shown} name no category (neither dialect fits)"
        raise BadFeedError(msg)
    dialect = entry_dialect(entry)
    link = _fhir_link(entry.content, where)
    if dialect == CLASSIC_DIALECT and not (link is entry.content and _REST_PATH.search(link)):
        msg = (
            f"{where}: categories {[category]} lack an action (Sync 2.0 dialect) and the "
            f"content is not a REST path (classic dialect): {entry.content[:120]!r}"
        )
        raise BadFeedError(msg)
    resource_type, uuid = _resource_of(link, category, dialect, where)
    owners = [u.lower() for u in _UUID.findall(link)[:-1]] if _REST_PATH.search(link) else []
    return ChangeEvent(
        category=category,
        action=action or CHANGED,
        resource_type=resource_type,
        uuid=uuid,
        entry_id=entry.id,
        page_url=page_url,
        updated=entry.updated,
        filters=filters,
        dialect=dialect,
        parent_uuid=owners[-1] if owners else None,
    )


def entry_dialect(entry: FeedEntry) -> str:
    """Which dialect an entry is written in: an action term makes it Sync 2.0."""
    return SYNC2_DIALECT if any(t in ACTIONS for t in entry.categories) else CLASSIC_DIALECT


def _resource_of(link: str, category: str, dialect: str, where: str) -> tuple[str, str]:
    """(FHIR type, uuid) from a FHIR path, a REST path, or (Sync 2.0 only) category + uuid."""
    match = _FHIR_PATH.search(link)
    if match:
        resource_type, uuid = match.group(1), match.group(2)
        return _R4_NAMES.get(resource_type, resource_type), uuid
    rest = _REST_PATH.search(link)
    if rest:
        resource_type, uuid = rest_resource(rest.group(1), where)
        if resource_type == "MedicationRequest" and category == "test_order":
            resource_type = "ServiceRequest"  # a plain ``order/{uuid}`` path in the test feed
        return resource_type, uuid
    found = _UUID.findall(link)
    if dialect == SYNC2_DIALECT and found and category in CATEGORY_TYPES:
        return CATEGORY_TYPES[category], found[-1]
    msg = f"{where}: cannot tell the resource from content {link[:200]!r} ({dialect} entry)"
    raise BadFeedError(msg)


def rest_resource(path: str, where: str) -> tuple[str, str]:
    """(FHIR type, uuid) of a REST path below ``/ws/rest/v1/``: the last known name + uuid pair.

    >>> rest_resource("bahmnicore/bahmniencounter/8f2c5a2e-41d5-4b7b-9d3a-0c3b7f1a9e11", "x")
    ('Encounter', '8f2c5a2e-41d5-4b7b-9d3a-0c3b7f1a9e11')
    >>> rest_resource("patient/8f2c5a2e-41d5-4b7b-9d3a-0c3b7f1a9e11/allergy/"
    ...               "0c3b7f1a-41d5-4b7b-9d3a-8f2c5a2e9e11", "x")[0]
    'AllergyIntolerance'
    """
    parts = [p for p in path.split("/") if p]
    for name, value in reversed(list(pairwise(parts))):
        if _UUID.fullmatch(value):
            if name in REST_TYPES:
                return REST_TYPES[name], value.lower()
            msg = f"{where}: REST resource {name!r} is not one sync2 reads"
            raise BadFeedError(msg)
    msg = f"{where}: REST path {path[:200]!r} names no uuid"
    raise BadFeedError(msg)


def _fhir_link(content: str, where: str) -> str:
    if not content:
        msg = f"{where}: empty content"
        raise BadFeedError(msg)
    if content.startswith(("{", "[")):
        try:
            links: Any = json.loads(content)
        except json.JSONDecodeError as exc:
            msg = f"{where}: content is not valid JSON ({exc.msg} at char {exc.pos})"
            raise BadFeedError(msg) from exc
        if not isinstance(links, dict) or not links:
            msg = f"{where}: content JSON is not an object of links"
            raise BadFeedError(msg)
        chosen = links.get("fhir") or next(iter(links.values()))
        if not isinstance(chosen, str):
            msg = f"{where}: content link is not a string"
            raise BadFeedError(msg)
        return chosen
    if content.startswith("/"):
        return content  # Bahmni style: a plain REST path
    msg = f"{where}: content is neither JSON nor a path: {content[:80]!r}"
    raise BadFeedError(msg)


# -- walking --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Marker:
    """Where a feed was read up to."""

    entry_id: str
    page_url: str
    updated: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"entry_id": self.entry_id, "page_url": self.page_url, "updated": self.updated}

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> Marker | None:
        if not value or not value.get("entry_id") or not value.get("page_url"):
            return None
        return cls(str(value["entry_id"]), str(value["page_url"]), str(value.get("updated", "")))


@dataclass(slots=True)
class PageRead:
    """One page's unread entries, and the marker that covers them once stored."""

    page: FeedPage
    entries: list[FeedEntry]
    marker: Marker | None
    note: str | None = None  # e.g. a lost-marker recovery, for the audit log


def canonical_page_url(page: FeedPage) -> str:
    return page.via_url or page.self_url or page.url


def page_number_url(any_page_url: str, number: int) -> str:
    """The URL of page ``number`` of the same feed.

    >>> page_number_url("http://h/openmrs/ws/atomfeed/patient/recent", 1)
    'http://h/openmrs/ws/atomfeed/patient/1'
    """
    head, _, _ = any_page_url.rstrip("/").rpartition("/")
    return f"{head}/{number}"


class FeedWalker:
    """Walks one category's feed forward from a marker.

    ``fetch_page`` gets an absolute URL and returns the parsed page; ``rebase`` maps a URL the
    server printed (possibly with a wrong host) onto the configured base.
    """

    def __init__(
        self,
        recent_url: str,
        fetch_page: Callable[[str], FeedPage],
        rebase: Callable[[str], str] = lambda url: url,
        max_pages: int = 10_000_000,
    ) -> None:
        self.recent_url = recent_url
        #: the dialect of the newest entry :meth:`head_marker` saw (None before, or no entries)
        self.head_dialect: str | None = None
        self._fetch = fetch_page
        self._rebase = rebase
        self._max_pages = max_pages

    def head_marker(self) -> Marker | None:
        """The marker of the newest entry now: where a snapshot hands over to the feed."""
        page = self._fetch(self.recent_url)
        if not page.entries:
            if page.prev_archive:  # an empty recent page after full ones: head is the page before
                prev = self._fetch(self._rebase(page.prev_archive))
                if prev.entries:
                    last = prev.entries[-1]
                    self.head_dialect = entry_dialect(last)
                    return Marker(last.id, canonical_page_url(prev), last.updated)
            return None
        last = page.entries[-1]
        self.head_dialect = entry_dialect(last)
        return Marker(last.id, canonical_page_url(page), last.updated)

    def pages_after(self, marker: Marker | None) -> Iterator[PageRead]:
        """Yield each page's unread entries in feed order, starting after ``marker``."""
        note = None
        if marker is None:
            page = self._first_page()
            if page is None:
                return
            entries = page.entries
        else:
            try:
                page = self._fetch(self._rebase(marker.page_url))
            except BadFeedError:
                raise
            except Exception as exc:  # the page itself is gone (server moved, feed rebuilt)
                if not _is_missing_page(exc):
                    raise
                page = None
            ids = [e.id for e in page.entries] if page is not None else []
            if page is not None and marker.entry_id in ids:
                entries = page.entries[ids.index(marker.entry_id) + 1 :]
            else:
                page, number = self._page_by_time(marker.updated)
                where = f"page {number}, located by time" if number > 1 else "page 1"
                note = (
                    f"marker entry {marker.entry_id} not found at {marker.page_url}; "
                    f"re-reading the feed from {where} (idempotent)"
                )
                if page is None:
                    return
                entries = page.entries
        seen = 0
        while True:
            last = entries[-1] if entries else None
            new_marker = Marker(last.id, canonical_page_url(page), last.updated) if last else None
            yield PageRead(page, entries, new_marker, note)
            note = None
            seen += 1
            nxt = page.next_archive
            if not nxt or seen >= self._max_pages:
                return
            nxt_url = self._rebase(nxt)
            if nxt_url == self._rebase(canonical_page_url(page)):
                msg = f"feed page {page.url} names itself as next-archive"
                raise BadFeedError(msg)
            page = self._fetch(nxt_url)
            entries = page.entries

    def _page_by_time(self, updated: str) -> tuple[FeedPage | None, int]:
        """The first page whose newest entry is not older than ``updated`` (binary search).

        Entries are numbered in publish order and stamped with their publish time, so pages are
        in time order: a lost marker costs log2(pages) reads, not a walk from page 1, and
        re-reading from there (idempotently) cannot skip anything written after the marker.
        """
        recent = self._fetch(self.recent_url)
        canonical = self._rebase(canonical_page_url(recent))
        last_number = _page_number(canonical)
        if not updated or last_number is None or last_number <= 1:
            return self._first_page(), 1
        low, high, found = 1, last_number, last_number
        pages: dict[int, FeedPage] = {last_number: recent}
        while low <= high:
            middle = (low + high) // 2
            page = pages.get(middle) or self._fetch(page_number_url(canonical, middle))
            pages[middle] = page
            newest = page.entries[-1].updated if page.entries else ""
            if newest and newest >= updated:
                found, high = middle, middle - 1
            else:
                low = middle + 1
        # one page earlier as well: entries stamped in the same second may straddle a page end
        start = max(1, found - 1)
        page = pages.get(start) or self._fetch(page_number_url(canonical, start))
        return page, start

    def _first_page(self) -> FeedPage | None:
        recent = self._fetch(self.recent_url)
        if not recent.prev_archive:
            return recent if recent.entries else None
        return self._fetch(page_number_url(self._rebase(canonical_page_url(recent)), 1))


def _page_number(url: str) -> int | None:
    """The number at the end of a numbered page URL.

    >>> _page_number("http://h/openmrs/ws/atomfeed/patient/12"), _page_number("x/recent")
    (12, None)
    """
    tail = url.rstrip("/").rpartition("/")[2]
    return int(tail) if tail.isdigit() else None


def _is_missing_page(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None)
    return status in (404, 410, 500)


def same_path(url_a: str, url_b: str) -> bool:
    return urlsplit(url_a).path == urlsplit(url_b).path
