"""The atomfeed ``event_records`` of a simulated hospital: the categories it publishes and one
compact, append-only event list per category."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import NamedTuple, overload

from ._records import Rec


class FeedCategory(NamedTuple):
    title: str
    rest: str  # REST resource name in the ``rest`` link
    fhir_type: str


#: atomfeed categories this simulator publishes (fhir2 link templates, atomfeed defaults)
CATEGORIES: dict[str, FeedCategory] = {
    "patient": FeedCategory("Patient", "patient", "Patient"),
    "visit": FeedCategory("Visit", "visit", "Encounter"),
    "encounter": FeedCategory("Encounter", "encounter", "Encounter"),
    "observation": FeedCategory("Observation", "obs", "Observation"),
    "location": FeedCategory("Location", "location", "Location"),
    # atomfeed's defaults for allergies and orders; test_order keeps the DSTU3 link name the
    # published fhir2 link configuration carries (google/fhir-data-pipes)
    "allergy": FeedCategory("Allergy", "allergy", "AllergyIntolerance"),
    "drug_order": FeedCategory("DrugOrder", "drug_order", "MedicationRequest"),
    "test_order": FeedCategory("TestOrder", "test_order", "ProcedureRequest"),
    # not in atomfeed's default configuration: a hospital adds them to customAtomfeedConfig.json
    "condition": FeedCategory("Condition", "condition", "Condition"),
    "diagnosis": FeedCategory("Diagnosis", "encounterdiagnosis", "Condition"),
    "medication_dispense": FeedCategory(
        "MedicationDispense", "medicationdispense", "MedicationDispense"
    ),
    "diagnostic_report": FeedCategory("DiagnosticReport", "diagnosticreport", "DiagnosticReport"),
}


class FeedEvent(NamedTuple):
    """One ``event_records`` row. The entry id is derived from (hospital, category, index)."""

    action: str
    rec: Rec
    timestamp: int
    filter_tag: str | None


_ACTIONS = ("CREATED", "UPDATED", "VOIDED", "RETIRED", "UNRETIRED", "UNVOIDED", "DELETED")


class Feed:
    """One category's ``event_records``, stored column-wise (a million events stay small).

    Reads like a list of FeedEvent: ``len(feed)``, ``feed[i]``, ``feed[a:b]``.
    """

    def __init__(self) -> None:
        self._actions = bytearray()
        self._recs: list[Rec] = []
        self._stamps = array("q")
        self._tags: dict[int, str] = {}  # index -> filter tag, only when feed_filter is on
        #: index -> raw <content> text, for tests of malformed entries (see corrupt_feed_entry)
        self.content_overrides: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._recs)

    def append(self, ev: FeedEvent) -> None:
        if ev.filter_tag is not None:
            self._tags[len(self._recs)] = ev.filter_tag
        self._actions.append(_ACTIONS.index(ev.action))
        self._recs.append(ev.rec)
        self._stamps.append(ev.timestamp)

    def _at(self, i: int) -> FeedEvent:
        return FeedEvent(
            _ACTIONS[self._actions[i]], self._recs[i], self._stamps[i], self._tags.get(i)
        )

    @overload
    def __getitem__(self, index: int) -> FeedEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[FeedEvent]: ...
    def __getitem__(self, index: int | slice) -> FeedEvent | list[FeedEvent]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self._recs)))]
        if index < 0:
            index += len(self._recs)
        if not 0 <= index < len(self._recs):
            raise IndexError(index)
        return self._at(index)

    def __iter__(self) -> Iterator[FeedEvent]:
        return (self._at(i) for i in range(len(self._recs)))
