"""Small readers over plain FHIR JSON: references, codings, meta, extensions.

They never raise on odd shapes (a dict where a list belongs, a missing key): real servers and
clients send both, and a mapper should keep what it can.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

JSON = dict[str, Any]


def as_list(value: Any) -> list[Any]:
    """A FHIR repeating element as a list, even when a client sent one object (or nothing).

    >>> as_list({"value": "1"}), as_list([1, 2]), as_list(None)
    ([{'value': '1'}], [1, 2], [])
    """
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def dicts(value: Any) -> Iterator[JSON]:
    """The dict items of a repeating element, skipping anything malformed.

    >>> list(dicts([{"a": 1}, "junk", None]))
    [{'a': 1}]
    """
    for item in as_list(value):
        if isinstance(item, dict):
            yield item


def ref_id(ref: Any, resource_type: str | None = None) -> str | None:
    """The id at the end of a reference, optionally only when it points at ``resource_type``.

    >>> ref_id({"reference": "Patient/abc"}), ref_id({"reference": "http://x/R4/Encounter/e1"})
    ('abc', 'e1')
    >>> ref_id({"reference": "Patient/abc"}, "Encounter") is None
    True
    >>> ref_id({"reference": "abc", "type": "Patient"}, "Patient"), ref_id({"reference": "/x/"})
    ('abc', 'x')
    >>> ref_id({"reference": "/"}) is None
    True
    """
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    if not isinstance(text, str) or not text:
        return None
    head, slash, ident = text.rstrip("/").rpartition("/")  # called several times an obs
    if slash:
        if resource_type is not None and head.rpartition("/")[2] != resource_type:
            return None
        return ident or None
    if resource_type is not None and ref.get("type") not in (None, resource_type):
        return None
    return ident or None


def text_of(concept: Any) -> str | None:
    """A CodeableConcept's display: its text, else the first coding display, else a code.

    >>> text_of({"coding": [{"code": "x"}, {"display": "Weight"}]})
    'Weight'
    >>> text_of({"text": "Malaria", "coding": [{"display": "M"}]})
    'Malaria'
    """
    if not isinstance(concept, dict):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text:
        return text
    codings = list(dicts(concept.get("coding")))
    for coding in codings:
        display = coding.get("display")
        if isinstance(display, str) and display:
            return display
    for coding in codings:
        code = coding.get("code")
        if isinstance(code, str) and code:
            return code
    return None


def codes_of(concept: Any) -> list[dict[str, str]]:
    """The codings as ``{system, code}``; the OpenMRS concept-uuid coding has system ``""``.

    >>> loinc = {"system": "http://loinc.org", "code": "3141-9"}
    >>> codes_of({"coding": [{"code": "5089AAAA"}, loinc]})
    [{'system': '', 'code': '5089AAAA'}, {'system': 'http://loinc.org', 'code': '3141-9'}]
    """
    if not isinstance(concept, dict):
        return []
    out = []
    for coding in dicts(concept.get("coding")):
        code = coding.get("code")
        if code is None or code == "":
            continue
        system = coding.get("system")
        out.append({"system": system if isinstance(system, str) else "", "code": str(code)})
    return out


def meta_of(resource: JSON) -> JSON:
    """``meta`` as a dict (empty when absent or malformed)."""
    meta = resource.get("meta")
    return meta if isinstance(meta, dict) else {}


def tag_codes(resource: JSON, system: str | None) -> list[str]:
    """Codes of ``meta.tag`` entries with ``system`` (``None``: tags with no system).

    >>> tag_codes({"meta": {"tag": [{"system": "s", "code": "visit"}, {"code": "x"}]}}, "s")
    ['visit']
    """
    return [
        str(tag["code"])
        for tag in dicts(meta_of(resource).get("tag"))
        if tag.get("system") == system and tag.get("code")
    ]


def str_or_none(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def extension_values(element: Any, prefix: str) -> dict[str, Any]:
    """Flatten (nested) extensions whose url starts with ``prefix`` into ``{fragment: value}``.

    OpenMRS nests ``http://fhir.openmrs.org/ext/address#address1`` inside an outer
    ``http://fhir.openmrs.org/ext/address`` extension; both shapes are read.

    >>> ext = {"extension": [{"url": "http://e/address", "extension": [
    ...     {"url": "http://e/address#address1", "valueString": "12 Univ St."}]}]}
    >>> extension_values(ext, "http://e/address")
    {'address1': '12 Univ St.'}
    """
    out: dict[str, Any] = {}
    if not isinstance(element, dict):
        return out
    for ext in dicts(element.get("extension")):
        url = ext.get("url")
        if not isinstance(url, str) or not url.startswith(prefix):
            continue
        if "extension" in ext:
            out.update(extension_values(ext, prefix))
            continue
        fragment = url.partition("#")[2] or url.rsplit("/", 1)[-1]
        for key, value in ext.items():
            if key.startswith("value"):
                out[fragment] = value
                break
    return out
