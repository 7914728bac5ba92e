"""The one error of the pure package: a rule that cannot be understood.

It subclasses ``ValueError`` so that pydantic validators turn it into a config error that
names the key.
"""

from __future__ import annotations


class CatchmentRuleError(ValueError):
    """A bad pattern, an unknown strategy name or a malformed combination."""
