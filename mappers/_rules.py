"""Concept rules: which concept class, code or keyword means which passport record type.

The default rules live here as a Python constant so that the package works installed anywhere
without reading files; ``config/concepts.toml`` holds the same rules for implementers to copy and
edit, and :func:`load_concept_rules` reads such a file (a test keeps the two identical).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .documents import RECORD_TYPES

#: Short names allowed in rule files for the code systems fhir2 emits.
SYSTEM_ALIASES: dict[str, str] = {
    "CIEL": "https://openconceptlab.org/orgs/CIEL/sources/CIEL",
    "LOINC": "http://loinc.org",
    "SNOMED": "http://snomed.info/sct",
}
#: Older fhir2 builds sent CIEL under its OID; treat it as CIEL.
_CIEL_OID = "urn:oid:2.16.840.1.113883.3.7201"

#: The packaged default rules (mirrored, byte for byte in meaning, by config/concepts.toml).
DEFAULT_RULES: dict[str, Any] = {
    "categories": {"vital-signs": "vital", "laboratory": "test"},
    "classes": {
        "Diagnosis": "condition",
        "Drug": "medication",
        "MedSet": "medication",
        "Test": "test",
        "LabSet": "test",
    },
    "codes": {
        "vital": [
            # CIEL vital signs and anthropometrics
            "CIEL:5085", "CIEL:5086", "CIEL:5087", "CIEL:5088", "CIEL:5089", "CIEL:5090",
            "CIEL:5092", "CIEL:5242", "CIEL:1342", "CIEL:1343",
            # LOINC vital signs panel members
            "LOINC:85353-1", "LOINC:8480-6", "LOINC:8462-4", "LOINC:8867-4", "LOINC:8310-5",
            "LOINC:29463-7", "LOINC:3141-9", "LOINC:8302-2", "LOINC:2708-6", "LOINC:59408-5",
            "LOINC:9279-1", "LOINC:39156-5", "LOINC:85354-9",
        ],
        "condition": [
            # CIEL diagnosis / problem questions
            "CIEL:1284", "CIEL:6042", "CIEL:159947", "CIEL:161602", "CIEL:159946",
            "CIEL:159394",
            # LOINC diagnosis / problem list
            "LOINC:29308-4", "LOINC:11450-4",
        ],
    },
    "keywords": [
        {"type": "condition", "words": ["DIAGNOSIS", "CONDITION", "DISEASE", "PROBLEM"]},
        {"type": "medication", "words": ["MEDICATION", "DRUG", "PRESCRIPTION"]},
        {"type": "test", "words": ["TEST", "LAB", "INVESTIGATION", "SCAN"]},
        {"type": "visit", "words": ["VISIT", "ENCOUNTER", "ADMISSION"]},
        {
            "type": "vital",
            "words": [
                "WEIGHT", "HEIGHT", "PULSE", "TEMPERATURE", "BLOOD PRESSURE", "SYSTOLIC",
                "DIASTOLIC", "RESPIRATORY RATE", "OXYGEN SATURATION", "HEART RATE",
                "BODY MASS INDEX", "BMI", "MUAC", "VITAL SIGNS",
            ],
        },
    ],
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConceptRules:
    """Parsed concept rules; build with :func:`parse_concept_rules` or :func:`load_concept_rules`.

    ``codes`` maps ``(system url, code)`` to a record type; ``keywords`` is an ordered list of
    (record type, compiled pattern), the first match wins.
    """

    categories: Mapping[str, str]
    classes: Mapping[str, str]
    codes: Mapping[tuple[str, str], str]
    keywords: tuple[tuple[str, re.Pattern[str]], ...]


def _check_type(value: Any, where: str) -> str:
    if value not in RECORD_TYPES:
        msg = f"concept rules: {where} names record type {value!r}, not one of {RECORD_TYPES}"
        raise ValueError(msg)
    return str(value)


def _system(alias: str) -> str:
    return SYSTEM_ALIASES.get(alias.upper(), alias)


def _keyword_pattern(words: list[str]) -> re.Pattern[str]:
    """Whole words (a plural ``S``/``ES`` allowed), any case, spaces matching any separator.

    >>> lab = _keyword_pattern(["LAB"])
    >>> bool(lab.search("Lab results")), bool(lab.search("Labour"))
    (True, False)
    """
    alts = "|".join(r"[\s_/-]+".join(map(re.escape, w.split())) for w in words)
    return re.compile(rf"\b(?:{alts})(?:S|ES)?\b", re.IGNORECASE)


def parse_concept_rules(raw: Mapping[str, Any]) -> ConceptRules:
    """Rules from their TOML/dict form (see ``config/concepts.toml``).

    Raises:
        ValueError: a rule names an unknown record type or has the wrong shape.
    """
    categories = {
        str(k).lower(): _check_type(v, f"categories.{k}")
        for k, v in dict(raw.get("categories", {})).items()
    }
    classes = {
        str(k).casefold(): _check_type(v, f"classes.{k}")
        for k, v in dict(raw.get("classes", {})).items()
    }
    codes: dict[tuple[str, str], str] = {}
    for kind, entries in dict(raw.get("codes", {})).items():
        _check_type(kind, f"codes.{kind}")
        for entry in entries:
            alias, sep, code = str(entry).rpartition(":")
            if not sep or not alias:
                msg = f"concept rules: code {entry!r} must be written SYSTEM:CODE"
                raise ValueError(msg)
            codes[(_system(alias), code.strip().upper())] = kind
    keywords = []
    for i, rule in enumerate(raw.get("keywords", [])):
        kind = _check_type(rule.get("type"), f"keywords[{i}].type")
        words = [str(w) for w in rule.get("words", []) if str(w).strip()]
        if words:
            keywords.append((kind, _keyword_pattern(words)))
    return ConceptRules(categories, classes, codes, tuple(keywords))


def load_concept_rules(path: str | Path) -> ConceptRules:
    """Read a concept rules TOML file (an implementer's override of the default).

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not valid TOML or not valid rules.
    """
    with open(path, "rb") as fh:
        try:
            raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            msg = f"concept rules {path}: {exc}"
            raise ValueError(msg) from exc
    return parse_concept_rules(raw)


_DEFAULT: ConceptRules | None = None


def default_rules() -> ConceptRules:
    """The packaged default rules, parsed once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = parse_concept_rules(DEFAULT_RULES)
    return _DEFAULT


def normalise_code(system: str, code: str) -> tuple[str, str]:
    """A coding as a rules key: CIEL's OID becomes its URL, and a CIEL-style concept uuid
    (``5089AAAA…``, what fhir2 sends as the system-less coding) becomes CIEL ``5089``.

    >>> normalise_code("", "5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    ('https://openconceptlab.org/orgs/CIEL/sources/CIEL', '5089')
    >>> normalise_code("http://loinc.org", "3141-9")
    ('http://loinc.org', '3141-9')
    """
    if system == _CIEL_OID:
        system = SYSTEM_ALIASES["CIEL"]
    if not system and len(code) == 36 and (m := _CIEL_UUID.match(code)):
        return SYSTEM_ALIASES["CIEL"], m.group(1)
    return system, code.strip().upper()


_CIEL_UUID = re.compile(r"^(\d+)A+$", re.IGNORECASE)
