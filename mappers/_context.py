"""What a mapper needs to know beyond the resource itself, and the one error it raises.

The engine builds one :class:`MappingContext` per source (and refreshes ``encounters`` as it
fetches them); mappers only read it, so one context can serve many threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._rules import ConceptRules


class MappingError(ValueError):
    """A resource that cannot be understood at all: it belongs in the failed-events queue.

    Raised only for input that is not a dict, has no ``resourceType`` or ``id``, or is of a type
    sync2 does not map. The message names the type and id, never patient data.
    """


@dataclass(frozen=True, slots=True)
class EncounterInfo:
    """What an observation borrows from its encounter (fhir2 exports no Observation performer)."""

    doctor: str | None = None
    facility: str | None = None
    date: str | None = None
    visit_uuid: str | None = None
    #: The Practitioner / Location ids behind ``doctor`` / ``facility``, for the engine to read
    #: when fhir2 sent the reference without a ``display``.
    doctor_uuid: str | None = None
    facility_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class MappingContext:
    """Per-source settings for :func:`mappers.map_resource`.

    Args:
        source: the source name, part of every document key.
        hospital: the hospital's display name, shown on every record.
        identifier_types: identifier type names, systems or type uuids (case-insensitive) that
            carry the national ID, in order of preference.
        encounters: encounter uuid -> :class:`EncounterInfo`, for observations' doctor/facility.
        concept_rules: parsed concept rules (:func:`mappers.load_concept_rules`); ``None`` means
            the packaged default.
        concept_classes: concept uuid -> OpenMRS concept class name, when the engine knows it
            (the MySQL adapter does; fhir2 only exports the class as an Observation category).
        validate: validate strictly with fhir.resources R4B before mapping (slower; a failure
            becomes a warning on the document, the resource is still mapped).
        memo: what a mapper worked out once for a part of a resource that repeats across
            resources (an observation's concept: its codes, name and record type), keyed by
            that part's content. Entries depend on the content and on this context's rules
            and classes only, so the contexts of one source may share one dict (the engine
            does, batch after batch); a context with other rules needs its own.
    """

    source: str
    hospital: str | None = None
    identifier_types: tuple[str, ...] = ("National ID",)
    encounters: Mapping[str, EncounterInfo] = field(default_factory=dict)
    concept_rules: ConceptRules | None = None
    concept_classes: Mapping[str, str] = field(default_factory=dict)
    validate: bool = False
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
