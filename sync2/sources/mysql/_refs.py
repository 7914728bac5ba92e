"""Batched look-ups of what clinical rows point at: people, encounters, drugs, users, places.

Every clinical resource names its patient, encounter, recorder or requester; these turn the
ids of one batch into ``(uuid, display)`` pairs with one query per table (never per row), so
every reference carries a display and no record loses its doctor or facility.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mappers import openmrs_rows as rows_to_fhir
from mappers.openmrs_rows import Party

from ._lookup import Lookup


def _ids(rows: Iterable[dict[str, Any]], *columns: str) -> set[int]:
    return {int(r[c]) for r in rows for c in columns if r.get(c) is not None}


class Refs:
    """Id -> reference resolution for one batch of clinical rows."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.schema = lookup.schema

    def patients(self, rows: Iterable[dict[str, Any]], column: str) -> dict[int, str]:
        return self.lookup.patient_uuids(_ids(rows, column))

    def encounters(self, rows: Iterable[dict[str, Any]], column: str) -> dict[int, tuple[str, Any]]:
        """encounter_id -> (uuid, encounter_datetime)."""
        return {
            int(r["encounter_id"]): (str(r["uuid"]), r.get("encounter_datetime"))
            for r in self.lookup.select_in(
                "SELECT encounter_id, uuid, encounter_datetime FROM encounter "
                "WHERE encounter_id IN ({ids})",
                _ids(rows, column),
            )
        }

    def concepts(
        self, rows: Iterable[dict[str, Any]], *columns: str
    ) -> dict[int, rows_to_fhir.ConceptInfo]:
        return self.lookup.concepts(_ids(rows, *columns))

    def _named(self, people: list[dict[str, Any]]) -> dict[int, Party]:
        """Rows with ``key``, ``uuid``, ``person_id``, ``name`` -> key -> (uuid, display)."""
        names = self.lookup.person_names(r["person_id"] for r in people if r.get("person_id"))
        return {
            int(r["key"]): (
                str(r["uuid"]),
                rows_to_fhir.provider_display(r, names.get(int(r.get("person_id") or 0), [])),
            )
            for r in people
        }

    def users(self, ids: Iterable[int]) -> dict[int, Party]:
        """users.user_id -> the user as fhir2 references one (Practitioner/<user uuid>)."""
        if not self.schema.has("users", "person_id"):
            return {}
        return self._named(
            self.lookup.select_in(
                "SELECT user_id AS `key`, uuid, person_id, COALESCE(username, system_id) AS name "
                "FROM users "
                "WHERE user_id IN ({ids})",
                ids,
            )
        )

    def providers(self, ids: Iterable[int]) -> dict[int, Party]:
        """provider_id -> the provider (1.9+ databases)."""
        if not self.schema.providers:
            return {}
        return self._named(
            self.lookup.select_in(
                "SELECT provider_id AS `key`, uuid, person_id, name FROM provider "
                "WHERE provider_id IN ({ids})",
                ids,
            )
        )

    def user_providers(self, ids: Iterable[int]) -> dict[int, Party]:
        """users.user_id -> the user's provider (the 1.10 upgrade's mapping of 1.9 orderers),
        or the user itself when the person is no provider."""
        users = self.users(ids)
        if not self.schema.providers or not users:
            return users
        rows = self.lookup.select_in(
            "SELECT u.user_id AS `key`, MIN(p.provider_id) AS provider_id FROM users u "
            "JOIN provider p ON p.person_id = u.person_id WHERE u.user_id IN ({ids}) "
            "GROUP BY u.user_id",
            list(users),
        )
        providers = self.providers(int(r["provider_id"]) for r in rows)
        for r in rows:
            found = providers.get(int(r["provider_id"]))
            if found:
                users[int(r["key"])] = found
        return users

    def locations(self, ids: Iterable[int]) -> dict[int, Party]:
        return {
            int(r["location_id"]): (str(r["uuid"]), r.get("name"))
            for r in self.lookup.select_in(
                "SELECT location_id, uuid, name FROM location WHERE location_id IN ({ids})", ids
            )
        }

    def drugs(self, ids: Iterable[int]) -> dict[int, Party]:
        """drug_id -> (uuid, name); a drug without a name shows its concept's name."""
        rows = self.lookup.select_in(
            "SELECT drug_id, uuid, name, concept_id FROM drug WHERE drug_id IN ({ids})", ids
        )
        concepts = self.lookup.concepts(_ids(rows, "concept_id"))
        out: dict[int, Party] = {}
        for r in rows:
            concept = concepts.get(int(r["concept_id"] or 0))
            out[int(r["drug_id"])] = (
                str(r["uuid"]),
                r.get("name") or (concept.name if concept else None),
            )
        return out

    def global_properties(self, names: Iterable[str]) -> dict[str, str]:
        if not self.schema.has("global_property"):
            return {}
        wanted = list(names)
        return {
            str(r["property"]): str(r["property_value"] or "").strip()
            for r in self.lookup.select_in(
                "SELECT property, property_value FROM global_property WHERE property IN ({ids})",
                wanted,
            )
        }
