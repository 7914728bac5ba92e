"""OpenMRS 1.x read-only MySQL source (``kind = "openmrs-mysql"``)."""

from __future__ import annotations

from ._source import MySQLSource

__all__ = ["MySQLSource"]
