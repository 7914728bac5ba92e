"""References without ``display``: the doctor and the facility are read by id, never dropped.

fhir2 names a record's practitioner and location in the reference's ``display``; older fhir2
versions, and providers without a person, leave it out. A record mapped from such a reference
would have no doctor. So before a window is mapped, every Practitioner / Location reference
without a display is looked up: in this run's cache, then in the passport's doctors and
locations, then at the source in batched ``_id=`` searches. What is found fills the display (and
the fetched Practitioner / Location joins the window, so the passport keeps it); a resource whose
reference cannot be resolved is held back as a failed event, retried like any other.

Observations carry no such references (they borrow their encounter's), so the obs path is not
walked at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mappers import DoctorDoc, LocationDoc, MappingContext, MappingError, map_resource

from ..sources import Failure, FetchResult, Source
from ..store import PassportStore

#: where fhir2 puts Practitioner / Location references, per element name
_REF_KEYS = (
    "participant",
    "location",
    "recorder",
    "asserter",
    "requester",
    "performer",
    "resultsInterpreter",
    "serviceProvider",
)
_WRAPPERS = ("individual", "actor", "location")
_LOOKED_UP = ("Practitioner", "Location")

#: (resource type, uuid) -> the name to show; one per source and run
NameCache = dict[tuple[str, str], str]


def _refs_in(value: Any) -> Iterator[dict[str, Any]]:
    for item in value if isinstance(value, list) else (value,):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("reference"), str):
            yield item
            continue
        for key in _WRAPPERS:
            inner = item.get(key)
            if isinstance(inner, dict) and isinstance(inner.get("reference"), str):
                yield inner


def bare_references(resource: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(type, uuid, reference)`` of each Practitioner / Location reference without display.

    >>> bare_references({"resourceType": "Encounter", "participant": [{"individual":
    ...     {"reference": "Practitioner/p1"}}], "location": [{"location": {"reference":
    ...     "Location/l1", "display": "Ward"}}]})
    [('Practitioner', 'p1', {'reference': 'Practitioner/p1'})]
    """
    if resource.get("resourceType") == "Observation":
        return []
    out = []
    for key in _REF_KEYS:
        value = resource.get(key)
        if value is None:
            continue
        for ref in _refs_in(value):
            rtype, _, uuid = str(ref["reference"]).rpartition("/")
            rtype = rtype.rpartition("/")[2]
            if rtype in _LOOKED_UP and uuid and not ref.get("display"):
                out.append((rtype, uuid, ref))
    return out


def resolve_references(
    source: Source,
    resources: list[dict[str, Any]],
    store: PassportStore,
    cache: NameCache,
    extra: Iterable[dict[str, Any]] = (),
    edited: Callable[[dict[str, Any]], None] = lambda resource: None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    """Fill the display of every bare reference in ``resources`` and ``extra`` (look-ups
    fetched for them, e.g. encounters of their observations); ``edited`` is called with each
    resource so changed (its content hash changes with it).

    Returns ``(fetched, unresolved)``: the Practitioner / Location resources read from the
    source (the caller adds them to the window, so the passport keeps them) and, for each
    reference that could not be resolved, its error.
    """
    owned = [(r, b) for r in (*resources, *extra) for b in bare_references(r)]
    if not owned:
        return [], {}
    bare = [b for _, b in owned]
    wanted = {(t, u) for t, u, _ in bare if (t, u) not in cache}
    if wanted:
        _from_store(source.id, wanted, store, cache)
    fetched: list[dict[str, Any]] = []
    unresolved: dict[tuple[str, str], str] = {}
    for rtype in _LOOKED_UP:
        ids = sorted(u for t, u in wanted if t == rtype and (t, u) not in cache)
        if ids:
            fetched += _from_source(source, rtype, ids, cache, unresolved)
    for resource, (rtype, uuid, ref) in owned:
        name = cache.get((rtype, uuid))
        if name:
            ref["display"] = name
            edited(resource)
    return fetched, unresolved


def _from_store(
    source_id: str, wanted: set[tuple[str, str]], store: PassportStore, cache: NameCache
) -> None:
    doctors = [u for t, u in wanted if t == "Practitioner"]
    if doctors:
        for uuid, doc in store.get_doctors(source_id, doctors).items():
            if doc.get("name"):
                cache[("Practitioner", uuid)] = str(doc["name"])
    if any(t == "Location" for t, _ in wanted):
        for uuid, doc in store.get_locations(source_id).items():
            if doc.get("name"):
                cache[("Location", uuid)] = str(doc["name"])


def _from_source(
    source: Source,
    rtype: str,
    ids: list[str],
    cache: NameCache,
    unresolved: dict[tuple[str, str], str],
) -> list[dict[str, Any]]:
    result: FetchResult = source.fetch(rtype, ids)
    ctx = MappingContext(source=source.id, hospital=source.name, encounters={})
    for uuid, resource in result.found.items():
        try:
            doc = map_resource(resource, ctx)
        except MappingError as exc:
            unresolved[(rtype, uuid)] = str(exc)
            continue
        name = doc.name if isinstance(doc, DoctorDoc | LocationDoc) else None
        if name:
            cache[(rtype, uuid)] = name
        else:
            unresolved[(rtype, uuid)] = f"{rtype}/{uuid} has no name"
    for gone in result.gone:
        unresolved[(rtype, gone.uuid)] = f"{rtype}/{gone.uuid} is {gone.reason} at the source"
    for failure in result.failures:
        if failure.uuid:
            unresolved[(rtype, failure.uuid)] = failure.error
    return list(result.found.values())


def hold_back(
    resources: list[dict[str, Any]], unresolved: dict[tuple[str, str], str]
) -> tuple[list[dict[str, Any]], list[Failure]]:
    """Split ``resources`` into those whose references all resolved and failures (one per
    resource that points at an unresolved Practitioner / Location)."""
    if not unresolved:
        return resources, []
    kept: list[dict[str, Any]] = []
    failures: list[Failure] = []
    for resource in resources:
        missing = [(t, u) for t, u, _ in bare_references(resource) if (t, u) in unresolved]
        if not missing:
            kept.append(resource)
            continue
        rtype, uuid = str(resource.get("resourceType")), str(resource.get("id"))
        t, u = missing[0]
        failures.append(
            Failure(
                error=f"its {t}/{u} could not be read: {unresolved[(t, u)]}",
                resource_type=rtype,
                uuid=uuid,
                payload_ref=f"{rtype}/{uuid}",
            )
        )
    return kept, failures
