"""Which passport record type an observation is.

One of condition | medication | test | visit | vital | other.

Evidence is weighed in a fixed order, strongest first:

1. the FHIR category ``vital-signs`` (-> vital);
2. a known vital-sign code (CIEL / LOINC). This comes before ``laboratory`` and the ``Test``
   class because OpenMRS dictionaries file vital signs under class Test, and fhir2 turns that
   class into the category ``laboratory`` (both fixture datasets do exactly this); the code is
   the more specific fact;
3. the FHIR category (``laboratory`` -> test);
4. the concept class (Diagnosis -> condition, Drug / MedSet -> medication, Test / LabSet -> test);
5. other known codes (diagnosis / problem questions -> condition);
6. keyword rules on the concept name, first match wins;
7. otherwise ``other``.

A ``test`` from steps 3 or 4 becomes ``vital`` when the name matches the vital keywords
(a weight filed as a laboratory Test is still a vital sign).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._rules import ConceptRules, default_rules, normalise_code

_OTHER = "other"


def _vital_by_name(name: str | None, rules: ConceptRules) -> bool:
    if not name:
        return False
    return any(kind == "vital" and pattern.search(name) for kind, pattern in rules.keywords)


def categorise(
    name: str | None = None,
    *,
    categories: Iterable[str] = (),
    concept_class: str | None = None,
    codes: Iterable[Mapping[str, str]] = (),
    rules: ConceptRules | None = None,
) -> str:
    """The passport record type of a concept.

    Args:
        name: the concept's display name (``code.text``).
        categories: FHIR observation-category codes (``laboratory``, ``vital-signs``, ...).
        concept_class: the OpenMRS concept class name, when known.
        codes: ``{system, code}`` codings; the system-less concept-uuid coding counts as CIEL
            when it has the CIEL ``NNNNAAAA…`` shape.
        rules: concept rules; ``None`` means the packaged default.

    Returns:
        One of ``mappers.documents.RECORD_TYPES``.

    >>> categorise("Malaria diagnosis")
    'condition'
    >>> ciel_weight = {"system": "", "code": "5089" + "A" * 32}
    >>> categorise("Weight", categories=["laboratory"], codes=[ciel_weight])
    'vital'
    >>> categorise("CD4 count", concept_class="Test")
    'test'
    >>> categorise("Civil status")
    'other'
    """
    rules = rules or default_rules()
    keys = [normalise_code(c.get("system") or "", c.get("code") or "") for c in codes]
    known = [rules.codes[k] for k in keys if k in rules.codes]
    cats = [c.lower() for c in categories]

    found = None
    for cat in cats:
        if rules.categories.get(cat) == "vital":
            return "vital"
    if "vital" in known:
        return "vital"
    for cat in cats:
        if cat in rules.categories:
            found = rules.categories[cat]
            break
    if found is None and concept_class:
        found = rules.classes.get(concept_class.casefold())
    if found is None and known:
        found = known[0]
    if found == "test" and _vital_by_name(name, rules):
        return "vital"
    if found is not None:
        return found
    if name:
        for kind, pattern in rules.keywords:
            if pattern.search(name):
                return kind
    return _OTHER
