"""The source object for a configured hospital, by its ``kind``.

Adding a source kind means a :class:`~sync2.sources.Source` subclass and a branch here; the
engine past this point only sees the interface.
"""

from __future__ import annotations

from .._errors import ConfigError
from ..config import Config, SourceConfig
from ..sources import Source
from .catchment import tag_filter_for


def build_source(config: Config, source_config: SourceConfig) -> Source:
    """The source object for one configured hospital.

    The feed sources get the catchment's tag filter, so entries of another area are skipped
    before any fetch. The MySQL driver is imported only for a MySQL hospital.
    """
    if source_config.kind == "openmrs-fhir":
        from ..sources.openmrs_fhir import OpenMRSFhirSource

        return OpenMRSFhirSource(
            source_config, config.http, tag_filter=tag_filter_for(config, source_config)
        )
    if source_config.kind == "openmrs-rest":
        from ..sources.openmrs_rest import OpenMRSRestSource

        return OpenMRSRestSource(
            source_config, config.http, tag_filter=tag_filter_for(config, source_config)
        )
    if source_config.kind == "openmrs-mysql":
        try:
            from ..sources.mysql import MySQLSource
        except ImportError as exc:
            msg = f"sources[{source_config.id}]: the MySQL source is unavailable: {exc}"
            raise ConfigError(msg) from exc
        return MySQLSource(source_config)
    msg = f"sources[{source_config.id}]: unknown kind {source_config.kind!r}"
    raise ConfigError(msg)
