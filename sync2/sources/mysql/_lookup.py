"""Batched look-ups that turn row ids into FHIR resources (never one query per row).

Every method takes a set of ids, runs one query per chunk of ids (``IN (...)``, 500 at a time)
per table, and hands the joined rows to the pure builders in ``mappers.openmrs_rows``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from mappers import openmrs_rows as rows_to_fhir
from mappers.openmrs_rows import ConceptInfo, EncounterContext, ObsContext

from .._base import Gone
from ._schema import Schema

Query = Callable[[str, Sequence[Any]], list[dict[str, Any]]]
CHUNK = 500


def chunks(ids: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """Sorted, de-duplicated ids in lists of at most ``size``."""
    unique = sorted({i for i in ids if i is not None}, key=str)
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class Lookup:
    """Resolves ids to resources for one connection; caches concepts for its lifetime."""

    def __init__(
        self, query: Query, schema: Schema, *, locale: str, default_locale: str, today: date
    ) -> None:
        self._q = query
        self.schema = schema
        self.locale = locale
        self.default_locale = default_locale
        self.today = today
        self._concepts: dict[int, ConceptInfo] = {}
        self._booleans: tuple[int | None, int | None] | None = None
        self._fhir_urls: dict[int, str] | None = None

    def select_in(
        self, sql: str, ids: Iterable[Any], extra: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """Run ``sql`` (with one ``{ids}`` placeholder) for each chunk of ``ids``."""
        out: list[dict[str, Any]] = []
        for chunk in chunks(ids):
            out.extend(self._q(sql.format(ids=_marks(len(chunk))), [*chunk, *extra]))
        return out

    # -- concepts --------------------------------------------------------------------------
    def booleans(self) -> tuple[int | None, int | None]:
        """The concept ids in global properties ``concept.true`` / ``concept.false`` (1.7+)."""
        if self._booleans is None:
            found: dict[str, int | None] = {"concept.true": None, "concept.false": None}
            if self.schema.has("global_property"):
                for row in self._q(
                    "SELECT property, property_value FROM global_property "
                    "WHERE property IN ('concept.true', 'concept.false')",
                    [],
                ):
                    try:
                        found[str(row["property"])] = int(str(row["property_value"]).strip())
                    except (TypeError, ValueError):
                        continue
            self._booleans = (found["concept.true"], found["concept.false"])
        return self._booleans

    def _source_urls(self) -> dict[int, str]:
        """fhir2's own source -> URL table, when a 2.x database still has it."""
        if self._fhir_urls is None:
            self._fhir_urls = {}
            if self.schema.has("fhir_concept_source", "url"):
                for row in self._q(
                    "SELECT concept_source_id, url FROM fhir_concept_source WHERE retired = 0", []
                ):
                    if row["url"]:
                        self._fhir_urls[int(row["concept_source_id"])] = str(row["url"])
        return self._fhir_urls

    def concepts(self, ids: Iterable[int]) -> dict[int, ConceptInfo]:
        """ConceptInfo by concept_id: name (OpenMRS's choice), codings, datatype, class, units."""
        wanted = {int(i) for i in ids if i is not None}
        missing = wanted - set(self._concepts)
        if missing:
            self._load_concepts(missing)
        return {i: self._concepts[i] for i in wanted if i in self._concepts}

    def _load_concepts(self, ids: set[int]) -> None:
        s = self.schema
        base = self.select_in(
            "SELECT c.concept_id, c.uuid, d.hl7_abbreviation AS datatype, k.name AS class_name "
            "FROM concept c LEFT JOIN concept_datatype d ON d.concept_datatype_id = c.datatype_id "
            "LEFT JOIN concept_class k ON k.concept_class_id = c.class_id "
            "WHERE c.concept_id IN ({ids})",
            ids,
        )
        name_cols = ", ".join(
            [
                "concept_id",
                "name",
                "locale",
                "voided",
                *s.optional("concept_name", "locale_preferred", "concept_name_type"),
            ]
        )
        names: dict[int, list[dict[str, Any]]] = {}
        for row in self.select_in(
            f"SELECT {name_cols} FROM concept_name WHERE concept_id IN ({{ids}}) AND voided = 0",
            ids,
        ):
            names.setdefault(int(row["concept_id"]), []).append(row)
        numeric: dict[int, dict[str, Any]] = {}
        if s.has("concept_numeric"):
            decimal = s.numeric_decimal_column
            cols = "concept_id, units, low_normal, hi_normal, low_critical, hi_critical" + (
                f", {decimal} AS allow_decimal" if decimal else ""
            )
            for row in self.select_in(
                f"SELECT {cols} FROM concept_numeric WHERE concept_id IN ({{ids}})", ids
            ):
                numeric[int(row["concept_id"])] = row
        codings = self._codings(ids)
        for row in base:
            cid = int(row["concept_id"])
            num = numeric.get(cid, {})
            allow = num.get("allow_decimal")
            self._concepts[cid] = ConceptInfo(
                uuid=str(row["uuid"]),
                name=rows_to_fhir.choose_concept_name(
                    names.get(cid, []), self.locale, self.default_locale
                ),
                codings=tuple(codings.get(cid, [])),
                datatype=row.get("datatype"),
                class_name=row.get("class_name"),
                units=num.get("units") or None,
                allow_decimal=None if allow is None else rows_to_fhir.flag(allow),
                low_normal=_float(num.get("low_normal")),
                hi_normal=_float(num.get("hi_normal")),
                low_critical=_float(num.get("low_critical")),
                hi_critical=_float(num.get("hi_critical")),
            )

    def _codings(self, ids: set[int]) -> dict[int, list[dict[str, Any]]]:
        s = self.schema
        source_table = s.map_source_table
        if not s.has(source_table):
            return {}
        if s.reference_terms:
            retired = "AND t.retired = 0 " if s.has("concept_reference_term", "retired") else ""
            map_type = (
                "mt.name AS map_type FROM concept_reference_map m "
                "LEFT JOIN concept_map_type mt ON mt.concept_map_type_id = m.concept_map_type_id "
                if s.has("concept_map_type")
                else "NULL AS map_type FROM concept_reference_map m "
            )
            sql = (
                "SELECT m.concept_id, t.code, src.concept_source_id, src.name AS source_name, "
                f"src.hl7_code, {map_type}"
                "JOIN concept_reference_term t "
                "ON t.concept_reference_term_id = m.concept_reference_term_id "
                f"JOIN {source_table} src ON src.concept_source_id = t.concept_source_id "
                f"WHERE m.concept_id IN ({{ids}}) {retired}ORDER BY m.concept_map_id"
            )
        elif s.has("concept_map", "source_code"):
            sql = (
                "SELECT m.concept_id, m.source_code AS code, src.concept_source_id, "
                "src.name AS source_name, src.hl7_code, NULL AS map_type FROM concept_map m "
                f"JOIN {source_table} src ON src.concept_source_id = m.source "
                "WHERE m.concept_id IN ({ids}) ORDER BY m.concept_map_id"
            )
        else:
            return {}
        urls = self._source_urls()
        by_concept: dict[int, list[dict[str, Any]]] = {}
        for row in self.select_in(sql, ids):
            system = rows_to_fhir.source_system(
                row.get("source_name"), row.get("hl7_code"), urls.get(int(row["concept_source_id"]))
            )
            by_concept.setdefault(int(row["concept_id"]), []).append(
                {"system": system, "code": row["code"], "map_type": row.get("map_type")}
            )
        return {cid: rows_to_fhir.concept_codings(maps) for cid, maps in by_concept.items()}

    # -- names -----------------------------------------------------------------------------
    def person_names(self, person_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = {}
        for row in self.select_in(
            "SELECT * FROM person_name WHERE person_id IN ({ids})", person_ids
        ):
            out.setdefault(int(row["person_id"]), []).append(row)
        return out

    # -- Patient ---------------------------------------------------------------------------
    def patients(self, person_ids: Iterable[int]) -> tuple[list[dict[str, Any]], list[Gone]]:
        """Patient resources for non-voided patients; Gone for voided ones."""
        people = self.select_in(
            "SELECT p.*, pa.voided AS patient_voided, pa.date_created AS patient_date_created, "
            "pa.date_changed AS patient_date_changed FROM person p "
            "JOIN patient pa ON pa.patient_id = p.person_id WHERE p.person_id IN ({ids})",
            person_ids,
        )
        ids = [int(p["person_id"]) for p in people]
        names = self.person_names(ids)
        identifiers: dict[int, list[dict[str, Any]]] = {}
        for row in self.select_in(
            "SELECT i.*, t.uuid AS type_uuid, t.name AS type_name, l.uuid AS location_uuid, "
            "l.name AS location_name FROM patient_identifier i "
            "LEFT JOIN patient_identifier_type t "
            "ON t.patient_identifier_type_id = i.identifier_type "
            "LEFT JOIN location l ON l.location_id = i.location_id "
            "WHERE i.patient_id IN ({ids}) ORDER BY i.patient_identifier_id",
            ids,
        ):
            identifiers.setdefault(int(row["patient_id"]), []).append(row)
        addresses: dict[int, list[dict[str, Any]]] = {}
        for row in self.select_in(
            "SELECT * FROM person_address WHERE person_id IN ({ids}) ORDER BY person_address_id",
            ids,
        ):
            addresses.setdefault(int(row["person_id"]), []).append(row)
        resources, gone = [], []
        for person in people:
            pid = int(person["person_id"])
            if rows_to_fhir.flag(person.get("voided")) or rows_to_fhir.flag(
                person.get("patient_voided")
            ):
                gone.append(Gone("Patient", str(person["uuid"]), "voided"))
                continue
            resources.append(
                rows_to_fhir.patient_resource(
                    person,
                    names.get(pid, []),
                    identifiers.get(pid, []),
                    addresses.get(pid, []),
                    today=self.today,
                )
            )
        return resources, gone

    def patient_uuids(self, person_ids: Iterable[int]) -> dict[int, str]:
        """person_id -> uuid, only for persons that are patients (fhir2 drops other subjects)."""
        return {
            int(r["person_id"]): str(r["uuid"])
            for r in self.select_in(
                "SELECT p.person_id, p.uuid FROM person p "
                "JOIN patient pa ON pa.patient_id = p.person_id WHERE p.person_id IN ({ids})",
                person_ids,
            )
        }

    # -- Practitioner ----------------------------------------------------------------------
    def providers(self, provider_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Practitioners by provider_id (1.9+) or, before 1.9, by the provider's person_id."""
        if self.schema.providers:
            rows = self.select_in(
                "SELECT pr.*, pe.gender FROM provider pr "
                "LEFT JOIN person pe ON pe.person_id = pr.person_id "
                "WHERE pr.provider_id IN ({ids})",
                provider_ids,
            )
        else:
            rows = [
                {**r, "uuid": rows_to_fhir.legacy_provider_uuid(str(r["uuid"]))}
                for r in self._legacy_providers(provider_ids)
            ]
        names = self.person_names(r["person_id"] for r in rows if r.get("person_id"))
        return [
            rows_to_fhir.practitioner_resource(r, names.get(int(r["person_id"] or 0), []))
            for r in rows
        ]

    def _legacy_providers(self, person_ids: Iterable[int]) -> list[dict[str, Any]]:
        has_users = self.schema.has("users", "person_id")
        user = (
            "(SELECT MIN(u.system_id) FROM users u WHERE u.person_id = pe.person_id)"
            if has_users
            else "NULL"
        )
        return self.select_in(
            f"SELECT pe.person_id, pe.person_id AS provider_id, pe.uuid, pe.gender, "
            f"pe.date_created, pe.date_changed, pe.voided AS retired, {user} AS identifier "
            "FROM person pe WHERE pe.person_id IN ({ids})",
            person_ids,
        )

    # -- Location --------------------------------------------------------------------------
    def locations(self, location_ids: Iterable[int]) -> list[dict[str, Any]]:
        rows = (
            self.select_in(
                "SELECT l.*, parent.uuid AS parent_uuid, parent.retired AS parent_retired "
                "FROM location l LEFT JOIN location parent "
                "ON parent.location_id = l.parent_location "
                "WHERE l.location_id IN ({ids})",
                location_ids,
            )
            if self.schema.has("location", "parent_location")
            else self.select_in(
                "SELECT l.* FROM location l WHERE l.location_id IN ({ids})", location_ids
            )
        )
        tags: dict[int, list[dict[str, Any]]] = {}
        if self.schema.has("location_tag_map"):
            for row in self.select_in(
                "SELECT m.location_id, t.name, t.description FROM location_tag_map m "
                "JOIN location_tag t ON t.location_tag_id = m.location_tag_id "
                "WHERE m.location_id IN ({ids}) ORDER BY t.name",
                [r["location_id"] for r in rows],
            ):
                tags.setdefault(int(row["location_id"]), []).append(row)
        return [
            rows_to_fhir.location_resource(
                r,
                parent_uuid=None
                if rows_to_fhir.flag(r.get("parent_retired"))
                else r.get("parent_uuid"),
                tags=tags.get(int(r["location_id"]), []),
            )
            for r in rows
        ]

    # -- Encounter -------------------------------------------------------------------------
    def encounters(self, encounter_ids: Iterable[int]) -> tuple[list[dict[str, Any]], list[Gone]]:
        s = self.schema
        visit = (
            "v.uuid AS visit_uuid FROM encounter e LEFT JOIN visit v ON v.visit_id = e.visit_id "
            if s.has("encounter", "visit_id") and s.has("visit")
            else "NULL AS visit_uuid FROM encounter e "
        )
        rows = self.select_in(
            "SELECT e.*, t.uuid AS type_uuid, t.name AS type_name, l.uuid AS location_uuid, "
            "l.name AS location_name, l.retired AS location_retired, p.uuid AS patient_uuid, "
            f"{visit}"
            "LEFT JOIN encounter_type t ON t.encounter_type_id = e.encounter_type "
            "LEFT JOIN location l ON l.location_id = e.location_id "
            "LEFT JOIN person p ON p.person_id = e.patient_id "
            "WHERE e.encounter_id IN ({ids})",
            encounter_ids,
        )
        participants, times = self._participants([int(r["encounter_id"]) for r in rows], rows)
        resources, gone = [], []
        for r in rows:
            eid = int(r["encounter_id"])
            if rows_to_fhir.flag(r.get("voided")):
                gone.append(Gone("Encounter", str(r["uuid"]), "voided"))
                continue
            retired = rows_to_fhir.flag(r.get("location_retired"))
            ctx = EncounterContext(
                patient_uuid=r.get("patient_uuid"),
                type_uuid=r.get("type_uuid"),
                type_name=r.get("type_name"),
                location_uuid=None if retired else r.get("location_uuid"),
                location_name=None if retired else r.get("location_name"),
                visit_uuid=r.get("visit_uuid"),
                participants=tuple(participants.get(eid, [])),
                times=tuple(times.get(eid, [])),
            )
            resources.append(rows_to_fhir.encounter_resource(r, ctx))
        return resources, gone

    def _participants(
        self, encounter_ids: list[int], rows: list[dict[str, Any]]
    ) -> tuple[dict[int, list[tuple[str, str | None, str | None]]], dict[int, list[Any]]]:
        out: dict[int, list[tuple[str, str | None, str | None]]] = {}
        times: dict[int, list[Any]] = {}
        if self.schema.providers:
            links = self.select_in(
                "SELECT ep.encounter_id, ep.voided, ep.date_created, ep.date_changed, "
                "ep.date_voided, pr.uuid, pr.identifier, pr.name, pr.person_id "
                "FROM encounter_provider ep JOIN provider pr ON pr.provider_id = ep.provider_id "
                "WHERE ep.encounter_id IN ({ids}) ORDER BY ep.encounter_provider_id",
                encounter_ids,
            )
        elif self.schema.has("encounter", "provider_id"):
            people = {
                int(p["person_id"]): p
                for p in self._legacy_providers(r["provider_id"] for r in rows)
            }
            links = []
            for r in rows:
                person = people.get(int(r["provider_id"] or 0))
                if person is not None:
                    links.append(
                        {
                            "encounter_id": r["encounter_id"],
                            "uuid": rows_to_fhir.legacy_provider_uuid(str(person["uuid"])),
                            "identifier": person.get("identifier"),
                            "person_id": person["person_id"],
                        }
                    )
        else:
            return out, times
        names = self.person_names(link["person_id"] for link in links if link.get("person_id"))
        for link in links:
            eid = int(link["encounter_id"])
            times.setdefault(eid, []).extend(
                link.get(k) for k in ("date_created", "date_changed", "date_voided")
            )
            if rows_to_fhir.flag(link.get("voided")):
                continue
            display = rows_to_fhir.provider_display(
                link, names.get(int(link.get("person_id") or 0), [])
            )
            out.setdefault(eid, []).append((str(link["uuid"]), link.get("identifier"), display))
        return out, times

    # -- Observation -----------------------------------------------------------------------
    def observations(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Observation resources for ``obs`` rows read by ``obs_rows_sql`` (which joins in the
        patient's and the encounter's uuids); voided rows are skipped.
        """
        live = [r for r in rows if not rows_to_fhir.flag(r.get("voided"))]
        concepts = self.concepts(
            [r["concept_id"] for r in live]
            + [r["value_coded"] for r in live if r.get("value_coded")]
        )
        members = self.group_members([int(r["obs_id"]) for r in live])
        true_id, false_id = self.booleans()
        has_status = self.schema.has("obs", "status")
        out = []
        for r in live:
            concept = concepts.get(int(r["concept_id"]))
            if concept is None:
                continue
            coded = r.get("value_coded")
            ctx = ObsContext(
                concept=concept,
                value_concept=concepts.get(int(coded)) if coded else None,
                patient_uuid=r["patient_uuid"],
                encounter_uuid=r["encounter_uuid"],
                members=tuple(members.get(int(r["obs_id"]), [])),
                true_concept_id=true_id,
                false_concept_id=false_id,
                amended=not has_status and r.get("previous_version") is not None,
            )
            out.append(rows_to_fhir.observation_resource(r, ctx))
        return out

    def group_members(self, obs_ids: list[int]) -> dict[int, list[str]]:
        """obs_id -> the uuids of its live group members, in obs order.

        A page of obs ids is one dense run, so it is read as one range of the
        ``obs_group_id`` index: an ``IN`` list of hundreds of ids is costed from index
        statistics instead, and a column that is mostly NULL then looks cheaper to scan whole.
        Sparse ids (point look-ups) keep the ``IN`` list.
        """
        wanted = set(obs_ids)
        if not wanted:
            return {}
        low, high = min(wanted), max(wanted)
        sql = "SELECT obs_group_id, uuid FROM obs WHERE {where} AND voided = 0 ORDER BY obs_id"
        if high - low < 4 * len(wanted):
            found = self._q(sql.format(where="obs_group_id BETWEEN %s AND %s"), [low, high])
        else:
            found = self.select_in(sql.format(where="obs_group_id IN ({ids})"), wanted)
        out: dict[int, list[str]] = {}
        for m in found:
            group = int(m["obs_group_id"])
            if group in wanted:
                out.setdefault(group, []).append(str(m["uuid"]))
        return out
