"""Concepts as fhir2 shows them: OpenMRS's name choice, mapped-term codings, CodeableConcept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._common import CIEL_URL, JSON, LOINC_URL, SAME_AS_UUID, SNOMED_URL, Row, flag


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


def _norm(locale: str) -> str:
    return locale.replace("-", "_").lower()


def choose_concept_name(
    names: Iterable[Row], locale: str, default_locale: str = "en"
) -> str | None:
    """The name OpenMRS displays for a concept (``Concept.getName(locale)``).

    In the exact locale: the locale-preferred name, then the fully specified one, then a synonym
    (no type), then any other non-voided name; then the same again for the bare language
    (``en_GB`` -> ``en``), then for any locale of that language, then for ``default_locale``,
    then anything. Rows: ``name``, ``locale``, ``locale_preferred``, ``concept_name_type``,
    ``voided`` (the last three may be absent before 1.7).

    >>> rows = [{"name": "WT", "locale": "en_GB", "concept_name_type": "SHORT"},
    ...         {"name": "Weight", "locale": "en_GB", "concept_name_type": "FULLY_SPECIFIED"},
    ...         {"name": "Poids", "locale": "fr", "locale_preferred": 1}]
    >>> [choose_concept_name(rows, loc) for loc in ("en", "fr", "sw")]
    ['Weight', 'Poids', 'Weight']
    """
    live = [r for r in names if not flag(r.get("voided")) and r.get("name")]
    if not live:
        return None
    wanted, lang, default = _norm(locale), _language(locale), _norm(default_locale)

    def locale_rank(row: Row) -> int:
        loc = _norm(str(row.get("locale") or ""))
        if loc == wanted:
            return 0
        if loc == lang:
            return 1
        if _language(loc) == lang:
            return 2
        if loc == default:
            return 3
        if _language(loc) == _language(default):
            return 4
        return 5

    def type_rank(row: Row) -> int:
        if flag(row.get("locale_preferred")):
            return 0
        kind = row.get("concept_name_type")
        if kind == "FULLY_SPECIFIED":
            return 1
        if kind is None:
            return 2
        return 3 if kind == "SHORT" else 4

    best = min(live, key=lambda r: (locale_rank(r), type_rank(r)))
    return str(best["name"])


def source_system(name: str | None, hl7_code: str | None, url: str | None = None) -> str | None:
    """The FHIR system of a concept source, as fhir2's defaults give it (``None``: dropped).

    >>> source_system("CIEL", None), source_system("x", "SCT"), source_system("ICD-10", "I10")
    ('https://openconceptlab.org/orgs/CIEL/sources/CIEL', 'http://snomed.info/sct', None)
    """
    if url:
        return url
    key = (name or "").strip().upper()
    if key == "CIEL":
        return CIEL_URL
    if key == "LOINC":
        return LOINC_URL
    if (hl7_code or "").strip().upper() == "SCT" or key in ("SNOMED CT", "SNOMED"):
        return SNOMED_URL
    return None


def concept_codings(maps: Iterable[Row]) -> list[JSON]:
    """The mapped-term codings: one per mapping with a known system; SAME-AS wins in a source.

    Rows: ``system`` (already resolved, may be ``None``), ``code``, ``map_type`` (name or uuid,
    ``None`` for 1.8 ``concept_map`` rows, which have no map type).

    >>> concept_codings([{"system": "http://loinc.org", "code": "1", "map_type": "NARROWER-THAN"},
    ...                  {"system": "http://loinc.org", "code": "2", "map_type": "SAME-AS"},
    ...                  {"system": None, "code": "3", "map_type": "SAME-AS"}])
    [{'system': 'http://loinc.org', 'code': '2'}]
    """
    by_system: dict[str, list[tuple[bool, str]]] = {}
    for row in maps:
        system, code = row.get("system"), row.get("code")
        if not system or code is None or code == "":
            continue
        kind = str(row.get("map_type") or "")
        same = kind.upper() == "SAME-AS" or kind == SAME_AS_UUID or row.get("map_type") is None
        by_system.setdefault(str(system), []).append((same, str(code)))
    out: list[JSON] = []
    for system, terms in by_system.items():
        chosen = [c for same, c in terms if same] or [c for _, c in terms]
        for code in dict.fromkeys(chosen):
            out.append({"system": system, "code": code})
    return out


@dataclass(frozen=True, slots=True)
class ConceptInfo:
    """What a resource needs of one concept; the source fills it with batched queries."""

    uuid: str
    name: str | None = None
    codings: tuple[JSON, ...] = ()
    datatype: str | None = None  # concept_datatype.hl7_abbreviation: NM, CWE, ST, BIT, ...
    class_name: str | None = None
    units: str | None = None
    allow_decimal: bool | None = None
    low_normal: float | None = None
    hi_normal: float | None = None
    low_critical: float | None = None
    hi_critical: float | None = None


def codeable_concept(concept: ConceptInfo) -> JSON:
    """fhir2's CodeableConcept: text, the uuid coding without system, then mapped terms.

    >>> cc = codeable_concept(ConceptInfo("5089AAAA", "Weight", ({"system": "s", "code": "1"},)))
    >>> cc["coding"], cc["text"]
    ([{'code': '5089AAAA', 'display': 'Weight'}, {'system': 's', 'code': '1'}], 'Weight')
    """
    first: JSON = {"code": concept.uuid}
    if concept.name:
        first["display"] = concept.name
    out: JSON = {"coding": [first, *(dict(c) for c in concept.codings)]}
    if concept.name:
        out["text"] = concept.name
    return out
