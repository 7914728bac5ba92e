"""The passport's faces outward: a FHIR R4 read API, the IPS summary and a parent atom feed.

``sync2 serve`` mounts :func:`router` beside the admin API; ``sync2 passport export`` calls
:func:`patient_summary`. Both read the store through the same :class:`FhirReader`, so the CLI
and the API give the same document. Nothing here writes to the passport except the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter

from mappers import SUPPORTED_TYPES

from ..config import Config
from ..store import PassportStore
from ._audit import audit_read
from ._ips import summary_bundle
from ._reader import FhirReader, NotFound
from ._resources import JSON
from ._routes import FEED_PATH, FHIR_PATH, TokenLookup, build_router

#: The clinical types the face serves: every type the mappers bring into ``medicalrecords``
#: (everything they map but patients, doctors and locations), so a type the passport learns
#: to hold is served with no change here.
RECORD_TYPES = tuple(t for t in SUPPORTED_TYPES if t not in ("Patient", "Practitioner", "Location"))

__all__ = ["FEED_PATH", "FHIR_PATH", "RECORD_TYPES", "NotFound", "patient_summary", "router"]


def _hospitals(store: PassportStore, config: Config) -> dict[str, str]:
    names = {
        str(h.get("source")): str(h.get("name")) for h in store.list_hospitals() if h.get("name")
    }
    names.update({s.id: s.name for s in config.sources})
    return names


def router(store: PassportStore, config: Config, tokens: TokenLookup | None) -> APIRouter:
    """The FHIR API and the parent feed; ``tokens`` None only for ``--insecure-local``."""
    return build_router(store, _hospitals(store, config), tokens, RECORD_TYPES)


def patient_summary(
    store: PassportStore, config: Config, national_id: str, base_url: str, *, actor: str
) -> JSON:
    """The IPS document Bundle of one passport patient; the read is audited as ``actor``.

    Raises:
        NotFound: the passport has no such patient.
    """
    reader = FhirReader(store, _hospitals(store, config))
    pid, patients, records = reader.summary_parts(national_id, None)
    audit_read(store, actor, "passport export (IPS)", {pid})
    return summary_bundle(pid, patients, records, base_url)
