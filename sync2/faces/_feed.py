"""The parent atom feed: the passport's changes, in the OpenMRS atomfeed module's format.

The feed of a category is the passport's rows of that type in change order, five to a page, so
a child reads it exactly as it reads a hospital (``sources/atomfeed.py``): ``recent`` is the
highest page, each page has ``self`` / ``via`` / ``prev-archive`` / ``next-archive`` links, an
entry's content is JSON pointing at the FHIR resource, and its categories carry the action and a
Sync 2.0 location filter tag (the patient's preferred address) for the child's catchment.

A row the passport writes again moves to the end of its feed (a new entry id, a later time), so
a child always sees the newest state after what it has read. Pages before a moved row shift by
one; a child whose marker entry moved finds its place again by time, as it does when a hospital's
feed is rebuilt, and re-reads from there idempotently.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from catchment._address import LOCATION_FILTER_BEAN, address_value, preferred_address

from ._resources import JSON, instant

PAGE_SIZE = 5
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/vnd.atomfeed+xml"
_REMOVED = frozenset({"entered-in-error", "superseded"})


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One change, ready to write: what the child needs to fetch it and to filter it."""

    resource_type: str
    uuid: str
    source: str
    changed_at: float
    action: str
    filter_value: str | None


def entry_of(doc: JSON, resource_type: str, address_of: Callable[[JSON], str | None]) -> FeedEntry:
    """A stored row (with ``changed_at``) as a feed entry; ``address_of`` gives the filter value."""
    action = "VOIDED" if doc.get("status") in _REMOVED else "UPDATED"
    return FeedEntry(
        resource_type=resource_type,
        uuid=str(doc["uuid"]),
        source=str(doc["source"]),
        changed_at=float(doc["changed_at"]),
        action=action,
        filter_value=address_of(doc),
    )


def address_filter(addresses: Any) -> str | None:
    """The Sync 2.0 location filter value of a list of FHIR addresses (None without one).

    >>> address_filter([{"use": "home", "country": "Kenya", "state": "Kisumu"}])
    'Kenya%Kisumu%null%null%null'
    >>> address_filter([]) is None
    True
    """
    if not isinstance(addresses, list):
        return None
    address = preferred_address([a for a in addresses if isinstance(a, dict)])
    return address_value(address) if address is not None else None


def last_page(count: int) -> int:
    """The number of the ``recent`` page (0 for an empty feed).

    >>> last_page(0), last_page(5), last_page(6)
    (0, 1, 2)
    """
    return math.ceil(count / PAGE_SIZE)


def _filter_tag(value: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><feedFilter>'
        f"<beanName>{LOCATION_FILTER_BEAN}</beanName>"
        f"<filter>{_xml_text(value)}</filter></feedFilter>"
    )


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(feed: etree._Element, rel: str, href: str) -> None:
    etree.SubElement(feed, f"{{{ATOM_NS}}}link", rel=rel, type="application/atom+xml", href=href)


def render_page(
    category: str,
    number: int,
    total_pages: int,
    entries: list[FeedEntry],
    *,
    self_url: str,
    feed_base: str,
) -> bytes:
    """One feed page as Atom XML.

    Args:
        number: this page (0 only for an empty feed's ``recent``).
        total_pages: greater than ``number`` when a later page exists (next-archive).
        feed_base: ``.../ws/atomfeed/{category}``; numbered page URLs hang below it.
    """
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{a}feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, f"{a}title").text = "sync2 patient passport feed"
    etree.SubElement(feed, f"{a}id").text = f"urn:sync2:feed:{category}+{number}"
    updated = instant(entries[-1].changed_at) if entries else instant(0)
    etree.SubElement(feed, f"{a}updated").text = updated
    author = etree.SubElement(feed, f"{a}author")
    etree.SubElement(author, f"{a}name").text = "sync2"
    _link(feed, "self", self_url)
    if number > 0:
        _link(feed, "via", f"{feed_base}/{number}")
    if 0 < number < total_pages:
        _link(feed, "next-archive", f"{feed_base}/{number + 1}")
    if number > 1:
        _link(feed, "prev-archive", f"{feed_base}/{number - 1}")
    for item in entries:
        _entry(feed, category, item)
    body: bytes = etree.tostring(feed, xml_declaration=True, encoding="UTF-8")
    return body


def _entry(feed: etree._Element, category: str, item: FeedEntry) -> None:
    a = f"{{{ATOM_NS}}}"
    node = etree.SubElement(feed, f"{a}entry")
    etree.SubElement(node, f"{a}title").text = item.resource_type
    for term in (category, item.action):
        etree.SubElement(node, f"{a}category", term=term)
    if item.filter_value is not None:
        etree.SubElement(node, f"{a}category", term=_filter_tag(item.filter_value))
    micros = round(item.changed_at * 1_000_000)
    etree.SubElement(
        node, f"{a}id"
    ).text = f"tag:sync2:{item.source}/{item.resource_type}/{item.uuid}/{micros}"
    stamp = instant(item.changed_at)
    etree.SubElement(node, f"{a}updated").text = stamp
    etree.SubElement(node, f"{a}published").text = stamp
    content = etree.SubElement(node, f"{a}content", type=CONTENT_TYPE)
    content.text = etree.CDATA(f'{{"fhir":"/ws/fhir2/R4/{item.resource_type}/{item.uuid}"}}')
