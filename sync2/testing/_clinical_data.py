"""The clinical rows of a synthetic hospital: allergies, problems, drug and test orders.

Written into whichever tables the schema has: 2.x ``allergy`` / ``conditions`` / ``orders``
with ``test_order``, or 1.9's ``active_list`` and 1.9-shaped orders. Every patient gets one
allergy, one problem and one drug order (and, on 2.x, one test order); every tenth patient's
drug order is revised (a REVISE order and the stop of the first) and allergy voided, so a sync
sees the edits a real hospital makes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

Insert = Callable[[Any, str, Sequence[str], Sequence[Sequence[Any]]], None]
Rows = list[tuple[Any, ...]]

#: (CIEL code, name) of the concepts the clinical rows need (class Drug: a test database).
_CONCEPTS = (("162298", "Penicillin"), ("70116", "Acetaminophen"), ("512", "Rash"),
             ("121375", "Asthma"))  # fmt: skip
_ORDER_COLUMNS = (
    "order_id", "order_type_id", "concept_id", "orderer", "date_activated", "date_stopped",
    "creator", "date_created", "patient_id", "uuid", "order_number", "previous_order_id",
    "order_action",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClinicalTotals:
    """Current clinical records written, by passport record type: not voided, and for drug
    orders one line per medication (a revised order is replaced by its revision)."""

    allergies: int = 0
    conditions: int = 0
    medications: int = 0
    tests: int = 0
    #: Drug orders replaced by a REVISE order (superseded in the passport, not current).
    revised_orders: int = 0


@dataclass(frozen=True, slots=True)
class _Plan:
    """Who gets what, and when: one entry per patient, every tenth one edited."""

    patients: Sequence[int]
    when: list[datetime]
    changed: list[bool]
    uuid: Callable[[], str]
    concepts: dict[str, int]  # allergen, drug, reaction, problem

    def voided_at(self, i: int) -> datetime | None:
        return self.when[i] + timedelta(hours=1) if self.changed[i] else None


def _one(cur: Any, sql: str) -> list[Any]:
    cur.execute(sql)
    row = cur.fetchone()
    return list(row.values()) if isinstance(row, dict) else list(row)


def _concepts(cur: Any, insert: Insert, uuid: Callable[[], str], epoch: datetime) -> list[int]:
    """The clinical concepts, CIEL-mapped like every other concept (term id = concept id)."""
    first, klass = (int(v) for v in _one(cur, "SELECT COALESCE(MAX(concept_id), 0), "
                                         "COALESCE(MAX(concept_class_id), 0) FROM concept, "
                                         "concept_class"))  # fmt: skip
    ids = [first + n for n in range(1, len(_CONCEPTS) + 1)]
    pairs = list(zip(ids, _CONCEPTS, strict=True))
    insert(cur, "concept_class", ("concept_class_id", "name", "creator", "date_created", "uuid"),
           [(klass + 1, "Drug", 1, epoch, uuid())])  # fmt: skip
    insert(
        cur,
        "concept",
        ("concept_id", "datatype_id", "class_id", "creator", "date_created", "uuid"),
        [(cid, 3, klass + 1, 1, epoch, f"{code}{'A' * 36}"[:36]) for cid, (code, _) in pairs],
    )
    insert(
        cur,
        "concept_name",
        (
            "concept_id",
            "name",
            "locale",
            "locale_preferred",
            "concept_name_type",
            "creator",
            "date_created",
            "uuid",
        ),
        [(cid, name, "en", 1, "FULLY_SPECIFIED", 1, epoch, uuid()) for cid, (_, name) in pairs],
    )
    insert(
        cur,
        "concept_reference_term",
        (
            "concept_reference_term_id",
            "concept_source_id",
            "code",
            "creator",
            "date_created",
            "uuid",
        ),
        [(cid, 1, code, 1, epoch, uuid()) for cid, (code, _) in pairs],
    )
    insert(cur, "concept_reference_map", ("concept_reference_term_id", "concept_map_type_id",
                                          "creator", "date_created", "concept_id", "uuid"),
           [(cid, 1, 1, epoch, cid, uuid()) for cid in ids])  # fmt: skip
    return ids


def write_clinical(
    cur: Any, insert: Insert, uuid: Callable[[], str], patients: Sequence[int], epoch: datetime
) -> ClinicalTotals:
    """One allergy, problem and drug order per patient (a test order too on 2.x)."""
    cur.execute("SHOW TABLES LIKE 'allergy'")
    legacy = not cur.fetchall()
    allergen, drug, reaction, problem = _concepts(cur, insert, uuid, epoch)
    plan = _Plan(
        patients=patients,
        when=[epoch + timedelta(days=1, minutes=i) for i in range(len(patients))],
        changed=[i % 10 == 9 for i in range(len(patients))],
        uuid=uuid,
        concepts={"allergen": allergen, "drug": drug, "reaction": reaction, "problem": problem},
    )
    insert(cur, "drug", ("drug_id", "concept_id", "name", "creator", "date_created", "uuid"),
           [(1, drug, "Paracetamol 500mg", 1, epoch, uuid())])  # fmt: skip
    insert(cur, "order_type", ("order_type_id", "name", "creator", "date_created", "uuid"),
           [(1, "Drug order", 1, epoch, uuid()), (2, "Test order", 1, epoch, uuid())])  # fmt: skip
    n, edited = len(patients), sum(plan.changed)
    if legacy:
        _active_list(cur, insert, plan)
        _orders_19(cur, insert, plan)
        return ClinicalTotals(allergies=n - edited, conditions=n, medications=n)
    _allergies_and_problems(cur, insert, plan)
    _orders(cur, insert, plan)
    return ClinicalTotals(
        allergies=n - edited, conditions=n, medications=n, tests=n, revised_orders=edited
    )


def _allergies_and_problems(cur: Any, insert: Insert, plan: _Plan) -> None:
    c = plan.concepts
    insert(cur, "allergy", ("allergy_id", "patient_id", "coded_allergen", "allergen_type",
                            "creator", "date_created", "voided", "date_voided", "uuid"),
           [(i + 1, pid, c["allergen"], "DRUG", 1, plan.when[i], int(plan.changed[i]),
             plan.voided_at(i), plan.uuid()) for i, pid in enumerate(plan.patients)])  # fmt: skip
    insert(cur, "allergy_reaction", ("allergy_id", "reaction_concept_id", "uuid"),
           [(i + 1, c["reaction"], plan.uuid()) for i in range(len(plan.patients))])  # fmt: skip
    insert(cur, "conditions", ("patient_id", "condition_coded", "clinical_status",
                               "verification_status", "onset_date", "creator", "date_created",
                               "uuid"),
           [(pid, c["problem"], "ACTIVE", "CONFIRMED", plan.when[i], 1, plan.when[i], plan.uuid())
            for i, pid in enumerate(plan.patients)])  # fmt: skip


def _active_list(cur: Any, insert: Insert, plan: _Plan) -> None:
    """1.9: allergies and problems share ``active_list``; a table per kind holds the rest."""
    c, n, first = plan.concepts, len(plan.patients), plan.when[0]
    insert(cur, "active_list_type", ("active_list_type_id", "name", "creator", "date_created",
                                     "uuid"),
           [(1, "Allergy", 1, first, plan.uuid()),
            (2, "Problem", 1, first, plan.uuid())])  # fmt: skip
    rows: Rows = [(i + 1, 1, pid, c["allergen"], plan.when[i], 1, plan.when[i],
                   int(plan.changed[i]), plan.voided_at(i), plan.uuid())
                  for i, pid in enumerate(plan.patients)]  # fmt: skip
    rows += [(n + i + 1, 2, pid, c["problem"], plan.when[i], 1, plan.when[i], 0, None, plan.uuid())
             for i, pid in enumerate(plan.patients)]  # fmt: skip
    insert(cur, "active_list", ("active_list_id", "active_list_type_id", "person_id", "concept_id",
                                "start_date", "creator", "date_created", "voided", "date_voided",
                                "uuid"), rows)  # fmt: skip
    insert(cur, "active_list_allergy", ("active_list_id", "allergy_type", "reaction_concept_id",
                                        "severity"),
           [(i + 1, "DRUG", c["reaction"], "MODERATE") for i in range(n)])  # fmt: skip
    insert(cur, "active_list_problem", ("active_list_id", "sort_weight"),
           [(n + i + 1, 1) for i in range(n)])  # fmt: skip


def _orders_19(cur: Any, insert: Insert, plan: _Plan) -> None:
    """1.9 drug orders: ``start_date``, free-text units and frequency, orderer a user."""
    insert(cur, "orders", ("order_id", "order_type_id", "concept_id", "orderer", "start_date",
                           "creator", "date_created", "patient_id", "uuid"),
           [(i + 1, 1, plan.concepts["drug"], 1, plan.when[i], 1, plan.when[i], pid, plan.uuid())
            for i, pid in enumerate(plan.patients)])  # fmt: skip
    insert(cur, "drug_order", ("order_id", "drug_inventory_id", "dose", "units", "frequency"),
           [(i + 1, 1, 500, "mg", "3/day") for i in range(len(plan.patients))])  # fmt: skip


def _orders(cur: Any, insert: Insert, plan: _Plan) -> None:
    """2.x drug orders (every tenth revised two hours later) and test orders."""
    n, drug, uuid = len(plan.patients), plan.concepts["drug"], plan.uuid
    test = int(_one(cur, "SELECT MIN(concept_id) FROM concept")[0])
    later = [w + timedelta(hours=2) for w in plan.when]
    rows: Rows = [(i + 1, 1, drug, 1, plan.when[i], later[i] if plan.changed[i] else None, 1,
                   plan.when[i], pid, uuid(), f"ORD-{i + 1}", None, "NEW")
                  for i, pid in enumerate(plan.patients)]  # fmt: skip
    revised = [i for i in range(n) if plan.changed[i]]
    rows += [(2 * n + k + 1, 1, drug, 1, later[i], None, 1, later[i], plan.patients[i], uuid(),
              f"ORD-R{i + 1}", i + 1, "REVISE") for k, i in enumerate(revised)]  # fmt: skip
    rows += [(n + i + 1, 2, test, 1, plan.when[i], None, 1, plan.when[i], pid, uuid(),
              f"ORD-T{i + 1}", None, "NEW") for i, pid in enumerate(plan.patients)]  # fmt: skip
    insert(cur, "orders", _ORDER_COLUMNS, rows)
    drug_orders = [*range(1, n + 1), *range(2 * n + 1, 2 * n + len(revised) + 1)]
    insert(cur, "drug_order", ("order_id", "drug_inventory_id", "dose", "as_needed"),
           [(oid, 1, 500 if oid <= n else 1000, 0) for oid in drug_orders])  # fmt: skip
    insert(cur, "test_order", ("order_id",), [(n + i + 1,) for i in range(n)])
