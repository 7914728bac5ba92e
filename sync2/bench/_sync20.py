"""What the Sync 2.0 algorithm asks of a hospital, from the simulator's own feeds (child side).

Sync 2.0 reads the atom feed 5 entries a page and, for every entry, GETs the resource its link
names, and at least one more GET (the issue's floor: two GETs an entry). This walks the same
hospital's feeds the same way through the app's ``handle`` (no socket, no client): every page a
walk from ``since`` reads, and one FHIR read per entry, each rendered and measured as the server
would send it. Requests are pages + 2 x entries; bytes are the pages plus one read an entry, so
they are a floor (the second GET's bytes are not counted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync2.simulator import Hospital, HospitalServer

#: the floor the issue sets: the resource's own GET and at least one more, per feed entry
GETS_PER_ENTRY = 2


def feed_marks(hospital: Hospital) -> dict[str, int]:
    """How many entries each feed holds now (a later walk starts after them)."""
    with hospital.lock:
        return {category: len(feed) for category, feed in hospital.feeds.items()}


def sync20_cost(
    server: HospitalServer, feeds: list[str], since: dict[str, int] | None = None
) -> dict[str, int]:
    """Pages, entries, requests and body bytes of a Sync 2.0 walk of ``feeds`` after ``since``."""
    from sync2.simulator._feed import PAGE_SIZE, page_count

    hospital = server.hospital
    host = {b"host": f"{server.host}:{server.port}".encode()}
    auth = {**host, b"authorization": _basic(server.username, server.password)}
    out = {"pages": 0, "entries": 0, "feed_bytes": 0, "read_bytes": 0}
    for category in feeds:
        with hospital.lock:
            feed = hospital.feeds.get(category)
            events = list(feed) if feed is not None else []
            pages = page_count(feed) if feed is not None else 0
        start = (since or {}).get(category, 0)
        if start >= len(events):  # nothing new: the floor counts no look at the feed
            continue
        for n in range(start // PAGE_SIZE + 1, pages + 1):
            page = server.app.handle(f"/openmrs/ws/atomfeed/{category}/{n}", "", host)
            out["pages"] += 1
            out["feed_bytes"] += len(page.body)
        for event in events[start:]:
            rec = event.rec
            path = f"/openmrs/ws/fhir2/R4/{rec.resource_type}/{rec.uuid}"
            out["entries"] += 1
            out["read_bytes"] += len(server.app.handle(path, "", auth).body)
    out["requests"] = out["pages"] + GETS_PER_ENTRY * out["entries"]
    out["bytes"] = out["feed_bytes"] + out["read_bytes"]
    return out


def _basic(username: str, password: str) -> bytes:
    import base64

    return b"Basic " + base64.b64encode(f"{username}:{password}".encode())


def per_1000(figures: dict[str, Any], obs: int) -> dict[str, float | None]:
    """Requests and bytes per 1,000 obs fetched."""
    if not obs:
        return {"requests_per_1000_obs": None, "bytes_per_1000_obs": None}
    return {
        "requests_per_1000_obs": 1000 * figures.get("requests", 0) / obs,
        "bytes_per_1000_obs": 1000 * figures.get("bytes", 0) / obs,
    }
