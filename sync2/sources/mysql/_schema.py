"""What this database's schema has, from information_schema rather than a version string.

Two databases of the same OpenMRS release line can differ (``value_boolean`` survived 2.0 where
it held data; upgrades took different paths), so every variant the adapter cares about is a
column or table test here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Schema:
    """Tables -> column names of one database, with the feature tests the queries need."""

    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, object]]) -> Schema:
        """Rows of ``information_schema.COLUMNS`` (TABLE_NAME, COLUMN_NAME)."""
        tables: dict[str, set[str]] = {}
        for row in rows:
            table = str(row["TABLE_NAME"]).lower()
            tables.setdefault(table, set()).add(str(row["COLUMN_NAME"]).lower())
        return cls({t: frozenset(c) for t, c in tables.items()})

    def has(self, table: str, column: str | None = None) -> bool:
        cols = self.columns.get(table)
        if cols is None:
            return False
        return column is None or column in cols

    # -- the schema variants (1.8, 1.9, 2.x) --------------------------------------------
    @property
    def providers(self) -> bool:
        """1.9+: provider + encounter_provider; before, ``encounter.provider_id`` -> person."""
        return self.has("provider") and self.has("encounter_provider")

    @property
    def reference_terms(self) -> bool:
        """1.9+: concept_reference_map -> term -> concept_reference_source; else concept_map."""
        return self.has("concept_reference_term") and self.has("concept_reference_map")

    @property
    def map_source_table(self) -> str:
        return (
            "concept_reference_source" if self.has("concept_reference_source") else "concept_source"
        )

    @property
    def numeric_decimal_column(self) -> str | None:
        """``allow_decimal`` (1.11+) or ``precise`` (before)."""
        for name in ("allow_decimal", "precise"):
            if self.has("concept_numeric", name):
                return name
        return None

    def optional(self, table: str, *names: str) -> list[str]:
        """The subset of ``names`` that ``table`` has, in order."""
        return [n for n in names if self.has(table, n)]

    # -- the clinical tables ---------------------------------------------------------------
    @property
    def active_list(self) -> bool:
        """1.9-1.12 keep allergies and problems in ``active_list`` + a table per kind."""
        return self.has("active_list") and self.has("active_list", "person_id")

    @property
    def orders_110(self) -> bool:
        """1.10+ orders (date_activated, order_action, care_setting); else 1.9's start_date."""
        return self.has("orders", "date_activated")

    def clinical(self, kind: str) -> bool:
        """Whether this hospital keeps ``kind`` at all; an absent table means it has none.

        Kinds: allergy, problem, diagnosis, drug_order, test_order, dispense.
        """
        tables = {
            "allergy": ("allergy", "allergy_reaction")
            if self.has("allergy", "allergen_type")
            else ("active_list", "active_list_allergy"),
            "problem": ("conditions",)
            if self.has("conditions")
            else ("active_list", "active_list_problem"),
            "diagnosis": ("encounter_diagnosis", "encounter"),
            "drug_order": ("orders", "drug_order"),
            "test_order": ("orders", "test_order"),
            "dispense": ("medication_dispense",),
        }[kind]
        return all(self.has(t) for t in tables)
