"""One entry point that renders any simulated row as its fhir2 R4 resource."""

from __future__ import annotations

from typing import Any

from . import _fhir, _fhir_clinical
from ._records import Rec

RENDERERS = {**_fhir.RENDERERS, **_fhir_clinical.RENDERERS}


def render(rec: Rec, *, bare_references: bool = False) -> dict[str, Any]:
    """The FHIR R4 resource for any record; ``bare_references`` drops the ``display`` of
    Practitioner and Location references (see :func:`_fhir_clinical.strip_displays`)."""
    resource = RENDERERS[rec.resource_type](rec)  # type: ignore[operator]
    return _fhir_clinical.strip_displays(resource) if bare_references else resource
