"""The change queries: which rows moved past a watermark, one SQL per stream, from the schema.

Each query yields ``pk`` and an integer ``mark`` for rows with ``mark >= %(lower)s`` and after
the keyset position ``(%(last_mark)s, %(last_pk)s)``, ordered by ``(mark, pk)``, ``%(limit)s``
at a time. New obs are found by ``obs_id`` (the primary key: cheap, and immune to clock skew);
everything that can change in place is found by the latest of its row times (created, changed,
voided, retired), across the child rows that change what the FHIR resource shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import Schema


@dataclass(frozen=True, slots=True)
class ChangeQuery:
    """One stream's change query and how its watermark behaves."""

    stream: str
    sql: str
    by_time: bool  # mark is epoch seconds (else an auto-increment id)
    versioned: bool  # rows change in place: the boundary key carries the mark
    full_rows: bool = False  # the query returns the whole rows too: no second read per page


def _latest(schema: Schema, table: str, alias: str, also: tuple[str, ...] = ()) -> str:
    """``GREATEST`` over a row's times; NULL-safe because ``date_created`` is NOT NULL.

    ``also`` names further times that change what the resource shows (an order's stop).
    """
    cols = [f"{alias}.date_created"]
    for extra in ("date_changed", "date_voided", "date_retired", *also):
        if schema.has(table, extra):
            cols.append(f"COALESCE({alias}.{extra}, {alias}.date_created)")
    return cols[0] if len(cols) == 1 else f"GREATEST({', '.join(cols)})"


def _page(inner: str) -> str:
    return (
        f"SELECT pk, mark FROM ({inner}) ch "
        "WHERE mark > %(last_mark)s OR (mark = %(last_mark)s AND pk > %(last_pk)s) "
        "ORDER BY mark, pk LIMIT %(limit)s"
    )


def _grouped(parts: list[str]) -> str:
    union = " UNION ALL ".join(parts)
    return f"SELECT pk, UNIX_TIMESTAMP(MAX(t)) AS mark FROM ({union}) u GROUP BY pk"


def _part(pk: str, time_expr: str, source: str) -> str:
    return (
        f"SELECT {pk} AS pk, {time_expr} AS t FROM {source} "
        f"WHERE {time_expr} >= FROM_UNIXTIME(%(lower)s)"
    )


def _single(schema: Schema, table: str, pk: str) -> str:
    return _grouped([_part(f"x.{pk}", _latest(schema, table, "x"), f"{table} x")])


def change_queries(schema: Schema) -> list[ChangeQuery]:
    """The streams this schema supports, in the order the engine should apply them."""
    out = [
        ChangeQuery("mysql:location", _page(_single(schema, "location", "location_id")), True, True)
    ]
    if schema.providers:
        out.append(
            ChangeQuery(
                "mysql:provider", _page(_single(schema, "provider", "provider_id")), True, True
            )
        )
    elif schema.has("encounter", "provider_id"):
        source = (
            "person x JOIN (SELECT DISTINCT provider_id FROM encounter) ep "
            "ON ep.provider_id = x.person_id"
        )
        out.append(
            ChangeQuery(
                "mysql:provider",
                _page(_grouped([_part("x.person_id", _latest(schema, "person", "x"), source)])),
                True,
                True,
            )
        )
    patient_parts = [
        _part(
            "pa.patient_id",
            f"GREATEST({_latest(schema, 'person', 'x')}, {_latest(schema, 'patient', 'pa')})",
            "person x JOIN patient pa ON pa.patient_id = x.person_id",
        ),
        _part(
            "pa.patient_id",
            _latest(schema, "person_name", "x"),
            "person_name x JOIN patient pa ON pa.patient_id = x.person_id",
        ),
        _part("x.patient_id", _latest(schema, "patient_identifier", "x"), "patient_identifier x"),
    ]
    if schema.has("person_address"):
        patient_parts.append(
            _part(
                "pa.patient_id",
                _latest(schema, "person_address", "x"),
                "person_address x JOIN patient pa ON pa.patient_id = x.person_id",
            )
        )
    out.append(ChangeQuery("mysql:patient", _page(_grouped(patient_parts)), True, True))
    encounter_parts = [_part("x.encounter_id", _latest(schema, "encounter", "x"), "encounter x")]
    if schema.providers:
        encounter_parts.append(
            _part(
                "x.encounter_id", _latest(schema, "encounter_provider", "x"), "encounter_provider x"
            )
        )
    out.append(ChangeQuery("mysql:encounter", _page(_grouped(encounter_parts)), True, True))
    out.append(ChangeQuery("mysql:obs", obs_page_sql(schema), False, False, full_rows=True))
    out.append(
        ChangeQuery(
            "mysql:voids",
            _page(
                # a void with no date (old tools, fixtures) is dated by its creation
                "SELECT obs_id AS pk, UNIX_TIMESTAMP(COALESCE(date_voided, date_created)) AS mark "
                "FROM obs WHERE voided = 1 "
                "AND COALESCE(date_voided, date_created) >= FROM_UNIXTIME(%(lower)s)"
            ),
            True,
            False,
        )
    )
    out.extend(clinical_change_queries(schema))
    return out


#: The clinical streams: (stream, kind for Schema.clinical), in the order they are applied.
CLINICAL_STREAMS = (
    ("mysql:allergy", "allergy"),
    ("mysql:condition", "problem"),
    ("mysql:diagnosis", "diagnosis"),
    ("mysql:drug_order", "drug_order"),
    ("mysql:test_order", "test_order"),
    ("mysql:dispense", "dispense"),
)


def _active_list(schema: Schema, kind_table: str) -> str:
    source = f"active_list x JOIN {kind_table} k ON k.active_list_id = x.active_list_id"
    latest = _latest(schema, "active_list", "x", ("end_date",))
    return _grouped([_part("x.active_list_id", latest, source)])


def _orders(schema: Schema, kind_table: str) -> str:
    """An order changes when written, voided or stopped, or when a later order revises or
    discontinues it (that order's creation is the change); DISCONTINUE orders are no resources.
    """
    if not schema.orders_110:
        latest = _latest(schema, "orders", "x", ("discontinued_date",))
        return _grouped(
            [_part("x.order_id", latest, f"orders x JOIN {kind_table} k USING (order_id)")]
        )
    kept = f"JOIN {kind_table} k ON k.order_id = x.order_id AND x.order_action <> 'DISCONTINUE'"
    return _grouped(
        [
            _part(
                "x.order_id", _latest(schema, "orders", "x", ("date_stopped",)), f"orders x {kept}"
            ),
            _part(
                "x.order_id",
                "n.date_created",
                f"orders n JOIN orders x ON x.order_id = n.previous_order_id {kept}",
            ),
        ]
    )


def _clinical_sql(schema: Schema, kind: str) -> str:
    if kind == "allergy":
        if schema.has("allergy", "allergen_type"):
            return _single(schema, "allergy", "allergy_id")
        return _active_list(schema, "active_list_allergy")
    if kind == "problem":
        if schema.has("conditions"):
            return _single(schema, "conditions", "condition_id")
        return _active_list(schema, "active_list_problem")
    if kind == "diagnosis":
        return _single(schema, "encounter_diagnosis", "diagnosis_id")
    if kind == "dispense":
        return _single(schema, "medication_dispense", "medication_dispense_id")
    return _orders(schema, kind)


def clinical_change_queries(schema: Schema) -> list[ChangeQuery]:
    """The clinical streams this hospital has tables for (an absent table: it keeps none)."""
    return [
        ChangeQuery(stream, _page(_clinical_sql(schema, kind)), True, True)
        for stream, kind in CLINICAL_STREAMS
        if schema.clinical(kind)
    ]


def obs_rows_sql(schema: Schema, where: str, head: str = "") -> str:
    """Whole ``obs`` rows with what their Observation points at, joined in the same read.

    ``previous_uuid`` is the row an edit replaced; ``patient_uuid`` is NULL when the person is
    not a patient (fhir2 then has no subject); ``encounter_uuid`` is the encounter's.
    ``head`` puts further columns first.
    """
    previous = (
        "prev.uuid AS previous_uuid"
        if schema.has("obs", "previous_version")
        else "NULL AS previous_uuid"
    )
    joins = (
        "LEFT JOIN obs prev ON prev.obs_id = o.previous_version "
        if schema.has("obs", "previous_version")
        else ""
    )
    return (
        f"SELECT {head}o.*, {previous}, "
        "CASE WHEN pa.patient_id IS NULL THEN NULL ELSE p.uuid END AS patient_uuid, "
        "e.uuid AS encounter_uuid FROM obs o "
        f"{joins}"
        "LEFT JOIN person p ON p.person_id = o.person_id "
        "LEFT JOIN patient pa ON pa.patient_id = o.person_id "
        "LEFT JOIN encounter e ON e.encounter_id = o.encounter_id "
        f"WHERE {where} ORDER BY o.obs_id"
    )


def obs_page_sql(schema: Schema) -> str:
    """The obs stream's page: the change query and the rows' read in one statement.

    An obs's mark is its id, so the keyset ``(mark, pk) > (last_mark, last_pk)`` is written
    as a plain range on the primary key, which the server walks in order and stops at LIMIT.
    """
    where = (
        "o.obs_id >= %(lower)s AND o.obs_id >= %(last_mark)s "
        "AND (o.obs_id > %(last_mark)s OR o.obs_id > %(last_pk)s)"
    )
    head = "o.obs_id AS pk, o.obs_id AS mark, "
    return f"{obs_rows_sql(schema, where, head)} LIMIT %(limit)s"


def replacements_sql(schema: Schema) -> str | None:
    """1.9+: the rows that replaced the given obs (``previous_version``), oldest first.

    One read per page of voids, instead of one correlated look-up per voided row: without an
    index on ``previous_version`` each such look-up scans the whole obs table. ``None`` before
    1.9, where :func:`replacement_sql` pairs rows by their values instead.
    """
    if not schema.has("obs", "previous_version"):
        return None
    return (
        "SELECT n.previous_version, n.uuid FROM obs n "
        "WHERE n.previous_version IN ({ids}) ORDER BY n.obs_id"
    )


def replacement_sql(schema: Schema) -> str:
    """The uuid of the row that replaced each voided obs (an edit), or NULL (a plain void).

    1.9+ links the new row by ``previous_version``; before, an edit is a void plus a new row
    with the same person, concept, time and encounter (B2), so they are paired on those.
    """
    if schema.has("obs", "previous_version"):
        inner = (
            "SELECT n.uuid FROM obs n WHERE n.previous_version = o.obs_id ORDER BY n.obs_id LIMIT 1"
        )
    else:
        inner = (
            "SELECT n.uuid FROM obs n WHERE n.person_id = o.person_id "
            "AND n.concept_id = o.concept_id AND n.obs_datetime = o.obs_datetime "
            "AND n.encounter_id <=> o.encounter_id AND n.obs_id > o.obs_id AND n.voided = 0 "
            "ORDER BY n.obs_id LIMIT 1"
        )
    return (
        f"SELECT o.obs_id, o.uuid, ({inner}) AS replaced_by FROM obs o WHERE o.obs_id IN ({{ids}})"
    )
