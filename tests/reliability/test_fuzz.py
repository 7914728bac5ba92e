"""Fuzzing with hypothesis: the feed parser and the mappers never crash on bad input (arbitrary
bytes, mutated real pages and payloads); the engine turns every bad record into a failed event
with a message. Seeds: the real OpenMRS fixtures and pages rendered by the simulator."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappers import SUPPORTED_TYPES, MappingContext, MappingError, encounter_info, map_resource
from sync2._errors import BadFeedError
from sync2.config import Config, MatchingConfig, PassportConfig, SourceConfig
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals
from sync2.simulator._feed import render_page
from sync2.sources import FetchResult, Source, SourceBatch
from sync2.sources.atomfeed import ACTIONS, FeedEntry, parse_page, read_entry
from sync2.store import open_store

from ..conftest import FIXTURES

#: the types sync2 declares it maps: the contract the mapper's behaviour is checked against
MAPPED = SUPPORTED_TYPES
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_HOSPITAL = generate_hospitals(n=1, patients=2, obs_per_patient=3, seed=13)[0]
_BASE = "http://h/openmrs/ws/atomfeed/observation/"
PAGES = [
    render_page(_HOSPITAL, category, 1, f"{_BASE}recent", _BASE).encode()
    for category in ("patient", "encounter", "observation")
]


def _fixture_resources() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    folder = FIXTURES / "fhir"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = (
            [e.get("resource") for e in data.get("entry") or []]
            if data.get("resourceType") == "Bundle"
            else [data]
        )
        for i, item in enumerate(items):
            if isinstance(item, dict):
                found.append({"id": f"{path.stem}-{i}", **item})
    for rtype in ("Patient", "Encounter", "Observation", "Location"):
        found.extend(_HOSPITAL.valid_resources(rtype)[:2])
    return found


SEEDS = _fixture_resources()
#: what a JSON parser hands over (orjson: integers within 64 bits, no NaN)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_ANY = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(PAGES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "delete", "insert", "flip"]))
        if kind == "cut":
            del data[at:]
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(
                st.binary(max_size=12) | st.sampled_from([b"<", b"&", b"]]>", b'"', b"{"])
            )
        elif data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
    return bytes(data)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_resource(draw: st.DrawFn) -> Any:
    resource: Any = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(resource))
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.booleans()):
                resource = draw(JSON_ANY)
            continue
        parent = resource
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_ANY)
    return resource


def _check_page(body: bytes) -> None:
    try:
        page = parse_page(body, "http://h/openmrs/ws/atomfeed/observation/1")
    except BadFeedError as exc:
        assert "observation/1" in str(exc)
        return
    for entry in page.entries:
        try:
            event = read_entry(entry, page.url)
        except BadFeedError as exc:
            assert page.url in str(exc)  # the message says where
            continue
        assert event.uuid and event.resource_type and event.action in ACTIONS


@FUZZ
@given(st.binary(max_size=400))
def test_feed_parser_on_arbitrary_bytes(body: bytes) -> None:
    _check_page(body)


@FUZZ
@given(mutated_bytes())
def test_feed_parser_on_mutated_real_pages(body: bytes) -> None:
    _check_page(body)


@FUZZ
@given(
    entry_id=st.text(max_size=30),
    categories=st.lists(st.sampled_from(sorted(ACTIONS)) | st.text(max_size=30), max_size=4),
    content=st.text(max_size=120)
    | st.sampled_from(
        ['{"fhir": "/ws/fhir2/R4/Patient/x"}', '{"rest": 5}', "[]", "/openmrs/ws/rest/v1/obs/"]
    ),
)
def test_read_entry_never_crashes(entry_id: str, categories: list[str], content: str) -> None:
    entry = FeedEntry(id=entry_id, title="", updated="", categories=categories, content=content)
    try:
        event = read_entry(entry, "http://h/page/1")
    except BadFeedError as exc:
        assert "http://h/page/1" in str(exc)  # the message says where
        if entry_id:
            assert entry_id in str(exc)  # and which entry
        return
    assert event.uuid and event.resource_type and event.action in ACTIONS


def _identity(resource: Any) -> tuple[str, str] | None:
    """(type, id) when a resource has what MappingError's contract asks for, else None: a dict
    with a string resourceType, a non-blank id (string or integer) and a declared type. Decided
    here from that contract, not by calling the mapper."""
    if not isinstance(resource, dict):
        return None
    rtype, uuid = resource.get("resourceType"), resource.get("id")
    if isinstance(uuid, int) and not isinstance(uuid, bool):
        uuid = str(uuid)
    if not isinstance(rtype, str) or rtype not in MAPPED or not isinstance(uuid, str):
        return None
    return (rtype, uuid.strip()) if uuid.strip() else None


def _ctx() -> MappingContext:
    return MappingContext(
        source="h", hospital="H", identifier_types=("National ID",), encounters={}
    )


@FUZZ
@given(mutated_resource())
def test_mappers_on_mutated_real_payloads(resource: Any) -> None:
    identity = _identity(resource)
    try:
        if isinstance(resource, dict) and resource.get("resourceType") == "Encounter":
            encounter_info(resource)
        map_resource(resource, _ctx())
    except MappingError as exc:
        if identity is not None:  # a resource that has a type and id is named by them
            assert f"{identity[0]}/{identity[1]}" in str(exc)
        return
    assert identity is not None, "a resource without a mapped type and an id was accepted"


class _Nothing(Source):
    """A source with nothing more to give: every look-up comes back empty."""

    id, name = "h", "H"

    def batches(self, cursors: dict[str, dict[str, Any]]) -> Iterator[SourceBatch]:
        return iter(())

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        return FetchResult()

    def patient_history(self, patient_uuid: str) -> Iterator[dict[str, Any]]:
        return iter(())

    def find_patients(self, identifier: str) -> list[dict[str, Any]]:
        return []


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(  # type: ignore[call-arg]
            passport=PassportConfig(store=f"sqlite:///{Path(tmp) / 'p.db'}"),  # type: ignore[call-arg]
            matching=MatchingConfig(identifier_types=["National ID"]),  # type: ignore[call-arg]
            sources=[SourceConfig(id="h", name="H", base_url="http://h/openmrs")],  # type: ignore[call-arg]
        )
        with open_store(config.passport.store) as store:
            yield Pipeline(config, store, sources={"h": _Nothing()})


@FUZZ
@given(mutated_resource())
def test_every_bad_record_lands_in_failed_events_with_a_message(
    pipeline: Pipeline, resource: Any
) -> None:
    if not isinstance(resource, dict):
        resource = {"resourceType": None, "id": None, "payload": resource}
    identity = _identity(resource)
    prepared = pipeline.prepare(
        pipeline.source("h"), SourceBatch(stream="feed:x", cursor={}, resources=[resource])
    )
    failed = prepared.batch.failed
    assert len(failed) <= 1
    if identity is None:  # no type and id: it cannot be stored, so it must be queued
        assert len(failed) == 1
    elif failed:  # queued although it has an identity: the event says which record
        assert (failed[0].resource_type, failed[0].uuid) == identity
    assert all(f.error and f.payload_ref for f in failed)
