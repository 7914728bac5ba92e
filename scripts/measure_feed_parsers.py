"""Why the atom feed is parsed with lxml: time per page and entity handling, lxml vs feedparser.

Not a project dependency and not run by the tests: a measurement behind ``docs/architecture.md``.
Run it with a Python that has sync2 (for its parser) and feedparser installed:

    python scripts/measure_feed_parsers.py [fixtures_dir]

Pages: the real OpenMRS feed pages in the fixtures (5 entries each, the server's default chunk),
and the same entries repeated into a 100-entry page (a sync2 passport parent's window).
Entities: a page whose first entry's content is an external entity (``file:///etc/hostname``)
and a page with a "billion laughs" expansion; what each parser returns, and how fast.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

from sync2.sources.atomfeed import BadFeedError, parse_page

FIXTURES = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/openmrs") / "feeds"


def _per_call(fn: Callable[[], Any], budget: float = 1.0) -> float:
    """Seconds per call, best of 5 rounds, each round about ``budget`` / 5 long."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget / 5:
        fn()
        calls += 1
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def _bigger(page: bytes, n: int) -> bytes:
    """``page`` with its entries repeated until it holds ``n`` (distinct ids)."""
    text = page.decode()
    entries = re.findall(r"<entry>.*?</entry>", text, flags=re.S)
    body = "".join(
        entries[i % len(entries)].replace("<id>tag:", f"<id>tag:{i}-", 1) for i in range(n)
    )
    head = text[: text.index("<entry>")]
    return (head + body + "</feed>").encode()


def _feedparser(body: bytes) -> Any:
    return feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/hostname">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>t</title>
<content type="application/vnd.atomfeed+xml">&x;</content></entry></feed>"""

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "ha">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(7)
    )
    + b']>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>t</title>'
    b'<content type="application/vnd.atomfeed+xml">&h;</content></entry></feed>'
)


def _content_lengths(body: bytes) -> tuple[str, str]:
    try:
        ours = str(len(parse_page(body, "test").entries[0].content))
    except (BadFeedError, etree.XMLSyntaxError) as exc:
        ours = f"refused ({type(exc).__name__})"
    parsed = _feedparser(body)
    entries = parsed.entries
    theirs = str(len(entries[0].get("content", [{}])[0].get("value", ""))) if entries else "none"
    if parsed.bozo:
        theirs += f" (bozo: {type(parsed.bozo_exception).__name__})"
    return ours, theirs


def main() -> None:
    pages = {p.name: p.read_bytes() for p in sorted(FIXTURES.glob("*.xml"))}
    pages["100 entries (page36 repeated)"] = _bigger(
        pages["motech_atomclient_patient-feed-page36.xml"], 100
    )
    print(f"lxml {etree.__version__}, feedparser {feedparser.__version__}")
    print(f"{'page':48} {'entries':>7} {'lxml us':>9} {'feedparser us':>14} {'ratio':>6}")
    for name, body in pages.items():
        entries = len(parse_page(body, name).entries)
        ours = _per_call(lambda b=body, n=name: parse_page(b, n))
        theirs = _per_call(lambda b=body: _feedparser(b))
        print(f"{name:48} {entries:7} {ours * 1e6:9.0f} {theirs * 1e6:14.0f} {theirs / ours:6.1f}")
    page = pages["motech_atomclient_patient-feed-page36.xml"]
    cut = page[: page.index(b"<entry>", page.index(b"<entry>") + 1) + 200]  # a broken transfer
    try:
        ours = f"{len(parse_page(cut, 'cut').entries)} entries"
    except BadFeedError:
        ours = "refused (BadFeedError: re-read, then a failed page)"
    parsed = _feedparser(cut)
    print(f"\npage36 cut after {len(cut)} of {len(page)} bytes:")
    print(f"  lxml (sync2's parser): {ours}")
    print(f"  feedparser: {len(parsed.entries)} entries, bozo={bool(parsed.bozo)}")
    print("\ncontent length of the first entry (what each parser made of the entity):")
    for name, body in (("external entity file:///etc/hostname", XXE), ("billion laughs", LAUGHS)):
        ours, theirs = _content_lengths(body)
        print(f"  {name:40} lxml (sync2's parser): {ours}; feedparser: {theirs}")


if __name__ == "__main__":
    main()
