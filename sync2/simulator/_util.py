"""Small helpers shared by the simulator: deterministic uuids and OpenMRS-style timestamps."""

from __future__ import annotations

import hashlib
import random
import time

_VARIANT = "89ab"


def new_uuid(rng: random.Random) -> str:
    """A version-4 uuid drawn from ``rng``, so a seed always gives the same uuids.

    >>> new_uuid(random.Random(1)) == new_uuid(random.Random(1))
    True
    """
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def hashed_uuid(*parts: object) -> str:
    """A uuid that looks random but is a pure function of ``parts`` (atom entry ids).

    Storing a fresh uuid per feed event would cost memory for a million events; deriving it keeps
    every page byte-identical across fetches, as real archive pages are.
    """
    h = hashlib.md5(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def fhir_instant(epoch: int) -> str:
    """``meta.lastUpdated`` / ``issued`` as fhir2 prints them: ``2024-06-25T10:56:16.000+00:00``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(epoch))


def fhir_datetime(epoch: int) -> str:
    """``effectiveDateTime`` / ``period.start``: ``2020-12-08T05:31:59+00:00``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


def atom_datetime(epoch: float) -> str:
    """Atom ``<updated>``: ``2017-11-09T12:34:56Z`` (ROME's W3C format)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def fhir_date(epoch: int) -> str:
    """A FHIR ``date`` (birthDate)."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))
