"""An OpenMRS server read through its REST web services (``/ws/rest/v1``), for servers without
fhir2: the atom feed says what changed, REST says what it is now."""

from ._source import OpenMRSRestSource

__all__ = ["OpenMRSRestSource"]
