"""The feed parser and walker, on pages built here (no HTTP)."""

from __future__ import annotations

import json
import uuid as uuidlib

import pytest

from sync2._errors import BadFeedError
from sync2.sources.atomfeed import (
    FeedEntry,
    FeedPage,
    FeedWalker,
    Marker,
    parse_page,
    read_entry,
)

BASE = "http://h/openmrs/ws/atomfeed/observation"


def _entry_xml(
    entry_id: str, terms: list[str], content: str, updated: str = "2025-01-01T00:00:00Z"
) -> str:
    cats = "".join(f'<category term="{t}"/>' for t in terms)
    return (
        f"<entry><title>Observation</title>{cats}<id>{entry_id}</id>"
        f"<updated>{updated}</updated><published>{updated}</published>"
        f'<content type="application/vnd.atomfeed+xml"><![CDATA[{content}]]></content></entry>'
    )


def _page_xml(n: int, last: int, entries: list[str], recent: bool = False) -> bytes:
    links = [
        f'<link rel="self" type="application/atom+xml" href="{BASE}/{"recent" if recent else n}"/>',
        f'<link rel="via" type="application/atom+xml" href="{BASE}/{n}"/>',
    ]
    if n < last:
        links.append(
            f'<link rel="next-archive" type="application/atom+xml" href="{BASE}/{n + 1}"/>'
        )
    if n > 1:
        links.append(
            f'<link rel="prev-archive" type="application/atom+xml" href="{BASE}/{n - 1}"/>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>OpenMRS Feed Publisher for Sync2.0</title><id>x+{n}</id>"
        + "".join(links)
        + "".join(entries)
        + "</feed>"
    ).encode()


def _obs_content(obs_uuid: str) -> str:
    return json.dumps(
        {
            "rest": f"/ws/rest/v1/obs/{obs_uuid}?v=full",
            "fhir": f"/ws/fhir2/R4/Observation/{obs_uuid}",
        }
    )


def _stamp(index: int) -> str:
    return f"2025-01-01T{index // 3600:02d}:{index // 60 % 60:02d}:{index % 60:02d}Z"


class FakeFeed:
    """N entries in pages of 5, served from memory; counts fetches."""

    def __init__(self, count: int) -> None:
        self.entries = [
            (f"tag:atomfeed.ict4h.org:{uuidlib.uuid4()}", str(uuidlib.uuid4()))
            for _ in range(count)
        ]
        self.fetches: list[str] = []

    def pages(self) -> int:
        return max(1, -(-len(self.entries) // 5))

    def fetch(self, url: str) -> FeedPage:
        self.fetches.append(url)
        last = self.pages()
        tail = url.rsplit("/", 1)[-1]
        n = last if tail == "recent" else int(tail)
        if not 1 <= n <= last:
            raise BadFeedError(f"no page {n}")
        chunk = self.entries[(n - 1) * 5 : n * 5]
        first = (n - 1) * 5
        xml = [
            _entry_xml(eid, ["CREATED", "observation"], _obs_content(u), _stamp(first + i))
            for i, (eid, u) in enumerate(chunk)
        ]
        return parse_page(_page_xml(n, last, xml, recent=tail == "recent"), url)


def _walk(feed: FakeFeed, marker: Marker | None) -> list[str]:
    walker = FeedWalker(f"{BASE}/recent", feed.fetch)
    out = []
    for read in walker.pages_after(marker):
        out.extend(e.id for e in read.entries)
    return out


def test_parse_page_links_and_entries() -> None:
    feed = FakeFeed(12)
    page = feed.fetch(f"{BASE}/recent")
    assert page.via_url == f"{BASE}/3"
    assert page.prev_archive == f"{BASE}/2" and page.next_archive is None
    assert len(page.entries) == 2
    event = read_entry(page.entries[0], page.via_url)
    assert event.resource_type == "Observation" and event.action == "CREATED"
    assert event.uuid == feed.entries[10][1]


@pytest.mark.parametrize("count", [0, 1, 5, 6, 23])
def test_first_walk_reads_every_entry_once_in_order(count: int) -> None:
    feed = FakeFeed(count)
    assert _walk(feed, None) == [eid for eid, _ in feed.entries]


def test_walk_resumes_after_marker_and_sees_appended_entries() -> None:
    feed = FakeFeed(7)
    walker = FeedWalker(f"{BASE}/recent", feed.fetch)
    reads = list(walker.pages_after(None))
    marker = reads[-1].marker
    assert marker is not None and marker.page_url == f"{BASE}/2"
    feed.entries.extend(
        (f"tag:atomfeed.ict4h.org:{uuidlib.uuid4()}", str(uuidlib.uuid4())) for _ in range(6)
    )
    assert _walk(feed, marker) == [eid for eid, _ in feed.entries[7:]]


def test_lost_marker_rereads_from_page_one_with_a_note() -> None:
    feed = FakeFeed(8)
    walker = FeedWalker(f"{BASE}/recent", feed.fetch)
    reads = list(walker.pages_after(Marker("tag:atomfeed.ict4h.org:gone", f"{BASE}/2")))
    assert reads[0].note and "not found" in reads[0].note
    assert [e.id for r in reads for e in r.entries] == [eid for eid, _ in feed.entries]


def test_categories_in_any_order_and_filter_tag() -> None:
    tag = (
        "&lt;?xml version=&quot;1.0&quot;?&gt;&lt;feedFilter&gt;&lt;beanName&gt;"
        "atomfeed.locationFeedFilterStrategy&lt;/beanName&gt;&lt;filter&gt;Kenya%*%*%*%*&lt;/filter&gt;&lt;/feedFilter&gt;"
    )
    xml = _entry_xml(
        "tag:atomfeed.ict4h.org:1",
        [tag, "VOIDED", "observation"],
        _obs_content("a" * 8 + "-aaaa-aaaa-aaaa-" + "a" * 12),
    )
    page = parse_page(_page_xml(1, 1, [xml]), f"{BASE}/1")
    event = read_entry(page.entries[0], f"{BASE}/1")
    assert event.action == "VOIDED" and event.category == "observation"
    assert event.filters and event.filters[0].value == "Kenya%*%*%*%*"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ("hello", "neither JSON nor a path"),
        ("", "empty content"),
    ],
)
def test_bad_entry_content_names_entry_and_problem(content: str, problem: str) -> None:
    entry = FeedEntry("tag:atomfeed.ict4h.org:x", "Obs", "", ["CREATED", "observation"], content)
    with pytest.raises(BadFeedError, match=problem) as info:
        read_entry(entry, f"{BASE}/4")
    assert "tag:atomfeed.ict4h.org:x" in str(info.value) and f"{BASE}/4" in str(info.value)


def test_entry_without_action_is_bad() -> None:
    entry = FeedEntry("tag:1", "Obs", "", ["observation"], _obs_content(str(uuidlib.uuid4())))
    with pytest.raises(BadFeedError, match="lack an action"):
        read_entry(entry, f"{BASE}/1")


def test_bahmni_style_plain_path_content() -> None:
    u = str(uuidlib.uuid4())
    entry = FeedEntry(
        "tag:1", "Patient", "", ["patient", "UPDATED"], f"/openmrs/ws/rest/v1/patient/{u}?v=full"
    )
    event = read_entry(entry, f"{BASE}/1")
    assert (event.resource_type, event.uuid) == ("Patient", u)


def test_invalid_xml_is_a_bad_feed() -> None:
    with pytest.raises(BadFeedError, match="not valid XML"):
        parse_page(b"<feed><entry>", f"{BASE}/1")


def test_next_archive_pointing_at_itself_is_refused() -> None:
    entry = _entry_xml("tag:x", ["CREATED", "observation"], _obs_content(str(uuidlib.uuid4())))
    looping = (
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f'<link rel="via" href="{BASE}/1"/><link rel="next-archive" href="{BASE}/1"/>{entry}</feed>'
    ).encode()
    walker = FeedWalker(f"{BASE}/recent", lambda url: parse_page(looping, url))
    with pytest.raises(BadFeedError, match="names itself"):
        list(walker.pages_after(Marker("tag:x", f"{BASE}/1")))


def test_lost_marker_is_located_by_time_in_few_reads() -> None:
    feed = FakeFeed(500)  # 100 pages
    k = 333
    lost = Marker("tag:atomfeed.ict4h.org:rebuilt-away", f"{BASE}/67", _stamp(k))
    walker = FeedWalker(f"{BASE}/recent", feed.fetch)
    reads = iter(walker.pages_after(lost))
    first = next(reads)
    assert first.note and "located by time" in first.note
    assert len(feed.fetches) <= 12  # the marker page, recent, a binary search: not 67 pages
    got = [e.id for e in first.entries] + [e.id for r in reads for e in r.entries]
    wanted = [eid for eid, _ in feed.entries[k + 1 :]]
    assert got[-len(wanted) :] == wanted  # nothing after the marker is skipped
    assert len(got) - len(wanted) <= 10  # and at most two pages are read again


@pytest.mark.parametrize(
    ("category", "link", "rtype"),
    [
        ("test_order", "/ws/fhir2/R4/ProcedureRequest/{u}", "ServiceRequest"),
        ("drug_order", "/ws/fhir2/R4/MedicationRequest/{u}", "MedicationRequest"),
        ("allergy", "/ws/fhir/AllergyIntolerance/{u}", "AllergyIntolerance"),
        ("diagnosis", "/ws/fhir2/R4/Condition/{u}", "Condition"),
    ],
)
def test_whole_history_entries_name_their_r4_type(category: str, link: str, rtype: str) -> None:
    """atomfeed's published fhir2 links still say ProcedureRequest (DSTU3) for test orders:
    fhir2 R4 serves them as ServiceRequest."""
    uuid = str(uuidlib.uuid4())
    key = "fhir" if "/fhir" in link else "rest"
    content = json.dumps({key: link.format(u=uuid)})
    entry = FeedEntry("tag:atomfeed.ict4h.org:h", category, "", ["CREATED", category], content)
    event = read_entry(entry, f"{BASE}/1")
    assert (event.resource_type, event.uuid) == (rtype, uuid)
