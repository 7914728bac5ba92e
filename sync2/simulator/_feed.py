"""Atom pages as openmrs-module-atomfeed serves them (research: sync2-atomfeed.md §1).

Number chunking, 5 entries a page, ``recent`` = the highest page. Per-entry details that the
real server leaves to a HashSet/HashMap (category order, JSON key order) vary between entries
but are derived from the entry id, so a page renders byte-identically every time.
"""

from __future__ import annotations

import time
from html import escape

from ._events import CATEGORIES, Feed, FeedEvent
from ._hospital import Hospital
from ._util import atom_datetime, hashed_uuid

PAGE_SIZE = 5
FEED_ID_PREFIX = "a2ad93fd-8a7f-405f-bbc1-da4535e6d05c"


class FeedPageNotFound(Exception):
    """n <= 0 or n > N: the real server throws AtomFeedRuntimeException (HTTP 500)."""


def page_count(events: Feed) -> int:
    return (len(events) + PAGE_SIZE - 1) // PAGE_SIZE


def _entry(h: Hospital, category: str, index: int, ev: FeedEvent) -> str:
    if getattr(h, "feed_dialect", "sync2") == "classic":
        from ._classic_feed import classic_entry

        return classic_entry(h, category, index, ev)
    cat = CATEGORIES[category]
    entry_id = hashed_uuid(h.feed_salt, category, index)
    flip = int(entry_id[0], 16)
    uuid = ev.rec.uuid
    rest = f'"rest":"/ws/rest/v1/{cat.rest}/{uuid}?v=full"'
    fhir = f'"fhir":"/ws/fhir2/R4/{cat.fhir_type}/{uuid}"'
    content = "{" + (f"{rest},{fhir}" if flip & 1 else f"{fhir},{rest}") + "}"
    content = h.feeds[category].content_overrides.get(index, content)
    terms = [category, ev.action]
    if ev.filter_tag is not None:
        terms.append(ev.filter_tag)
    shift = (flip >> 1) % len(terms)
    terms = terms[shift:] + terms[:shift]
    if flip & 8:
        terms.reverse()
    cats = "".join(f'\n    <category term="{escape(t)}" />' for t in terms)
    stamp = atom_datetime(ev.timestamp)
    return (
        f"  <entry>\n    <title>{cat.title}</title>{cats}\n"
        f"    <id>tag:atomfeed.ict4h.org:{entry_id}</id>\n"
        f"    <updated>{stamp}</updated>\n    <published>{stamp}</published>\n"
        f'    <content type="application/vnd.atomfeed+xml"><![CDATA[{content}]]></content>\n'
        "  </entry>\n"
    )


def render_page(h: Hospital, category: str, n: int | None, self_url: str, page_base: str) -> str:
    """The XML of page ``n`` (None = recent) of ``category``; ``page_base`` + n is a page URL.

    Raises:
        FeedPageNotFound: for n <= 0 or n > the number of pages.
    """
    with h.lock:
        events = h.feeds.get(category) or Feed()
        total = page_count(events)
        if n is None:
            n = total
        elif n <= 0 or n > total:
            msg = f"feed {category} page {n} does not exist"
            raise FeedPageNotFound(msg)
        start = (n - 1) * PAGE_SIZE
        page = events[start : start + PAGE_SIZE] if n > 0 else []
        entries = "".join(_entry(h, category, start + i, ev) for i, ev in enumerate(page))
    links = [("self", self_url)]
    if n > 0:
        links.append(("via", f"{page_base}{n}"))
    if 0 < n < total:
        links.append(("next-archive", f"{page_base}{n + 1}"))
    if n > 1:
        links.append(("prev-archive", f"{page_base}{n - 1}"))
    link_xml = "".join(
        f'  <link rel="{rel}" type="application/atom+xml" href="{escape(url)}" />\n'
        for rel, url in links
    )
    if page:
        updated = atom_datetime(max(ev.timestamp for ev in page))
    else:
        midnight = time.mktime((*time.localtime()[:3], 0, 0, 0, 0, 0, -1))
        updated = atom_datetime(midnight)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        "  <title>OpenMRS Feed Publisher for Sync2.0</title>\n"
        f"{link_xml}"
        "  <author>\n    <name>SolDevelo</name>\n  </author>\n"
        f"  <id>{FEED_ID_PREFIX}+{n}</id>\n"
        '  <generator uri="https://github.com/ICT4H/atomfeed">OpenMRS Feed Publisher'
        "</generator>\n"
        f"  <updated>{updated}</updated>\n"
        f"{entries}</feed>\n"
    )
