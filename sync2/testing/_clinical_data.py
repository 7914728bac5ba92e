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

#: (CIEL code, name) of the concepts the clinical rows need (class Drug: a test database).
_CONCEPTS = (
    ("162298", "Penicillin"),
    ("70116", "Acetaminophen"),
    ("512", "Rash"),
    ("121375", "Asthma"),
)


@dataclass(frozen=True, slots=True)
class ClinicalTotals:
    """Valid (not voided) clinical records written, by passport record type."""

    allergies: int = 0
    conditions: int = 0
    medications: int = 0
    tests: int = 0


def _tables(cur: Any) -> set[str]:
    cur.execute("SHOW TABLES")
    return {str(next(iter(r.values())) if isinstance(r, dict) else r[0]) for r in cur.fetchall()}


def _concepts(cur: Any, insert: Insert, uuid: Callable[[], str], epoch: datetime) -> list[int]:
    cur.execute(
        "SELECT COALESCE(MAX(concept_id), 0), COALESCE(MAX(concept_class_id), 0) "
        "FROM concept, concept_class"
    )
    row = cur.fetchone()
    first, klass = list(row.values()) if isinstance(row, dict) else list(row)
    ids = [int(first) + n for n in range(1, len(_CONCEPTS) + 1)]
    insert(
        cur,
        "concept_class",
        ("concept_class_id", "name", "creator", "date_created", "uuid"),
        [(int(klass) + 1, "Drug", 1, epoch, uuid())],
    )
    insert(
        cur,
        "concept",
        ("concept_id", "datatype_id", "class_id", "creator", "date_created", "uuid"),
        [
            (cid, 3, int(klass) + 1, 1, epoch, f"{code}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"[:36])
            for cid, (code, _) in zip(ids, _CONCEPTS, strict=True)
        ],
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
        [
            (cid, name, "en", 1, "FULLY_SPECIFIED", 1, epoch, uuid())
            for cid, (_, name) in zip(ids, _CONCEPTS, strict=True)
        ],
    )
    # CIEL-mapped like every other concept of the hospital (term id = concept id)
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
        [(cid, 1, code, 1, epoch, uuid()) for cid, (code, _) in zip(ids, _CONCEPTS, strict=True)],
    )
    insert(
        cur,
        "concept_reference_map",
        (
            "concept_reference_term_id",
            "concept_map_type_id",
            "creator",
            "date_created",
            "concept_id",
            "uuid",
        ),
        [(cid, 1, 1, epoch, cid, uuid()) for cid in ids],
    )
    return ids


def write_clinical(
    cur: Any,
    insert: Insert,
    uuid: Callable[[], str],
    patients: Sequence[int],
    epoch: datetime,
) -> ClinicalTotals:
    """One allergy, problem and drug order per patient (a test order too on 2.x)."""
    tables = _tables(cur)
    penicillin, acetaminophen, rash, asthma = _concepts(cur, insert, uuid, epoch)
    insert(
        cur,
        "drug",
        ("drug_id", "concept_id", "name", "creator", "date_created", "uuid"),
        [(1, acetaminophen, "Paracetamol 500mg", 1, epoch, uuid())],
    )
    legacy = "allergy" not in tables
    n = len(patients)
    changed = [i % 10 == 9 for i in range(n)]
    when = [epoch + timedelta(days=1, minutes=i) for i in range(n)]
    if legacy:
        _active_list(cur, insert, uuid, patients, when, changed, (penicillin, rash, asthma))
    else:
        insert(
            cur,
            "allergy",
            (
                "allergy_id",
                "patient_id",
                "coded_allergen",
                "allergen_type",
                "creator",
                "date_created",
                "voided",
                "date_voided",
                "uuid",
            ),
            [
                (
                    i + 1,
                    pid,
                    penicillin,
                    "DRUG",
                    1,
                    when[i],
                    int(changed[i]),
                    when[i] + timedelta(hours=1) if changed[i] else None,
                    uuid(),
                )
                for i, pid in enumerate(patients)
            ],
        )
        insert(
            cur,
            "allergy_reaction",
            ("allergy_id", "reaction_concept_id", "uuid"),
            [(i + 1, rash, uuid()) for i in range(n)],
        )
        insert(
            cur,
            "conditions",
            (
                "patient_id",
                "condition_coded",
                "clinical_status",
                "verification_status",
                "onset_date",
                "creator",
                "date_created",
                "uuid",
            ),
            [
                (pid, asthma, "ACTIVE", "CONFIRMED", when[i], 1, when[i], uuid())
                for i, pid in enumerate(patients)
            ],
        )
    revisions = _orders(cur, insert, uuid, patients, when, changed, acetaminophen, legacy)
    voided = sum(changed)
    return ClinicalTotals(
        allergies=n - voided,
        conditions=n,
        medications=n + revisions,
        tests=0 if legacy else n,
    )


def _active_list(
    cur: Any,
    insert: Insert,
    uuid: Callable[[], str],
    patients: Sequence[int],
    when: list[datetime],
    changed: list[bool],
    concepts: tuple[int, int, int],
) -> None:
    penicillin, rash, asthma = concepts
    insert(
        cur,
        "active_list_type",
        ("active_list_type_id", "name", "creator", "date_created", "uuid"),
        [(1, "Allergy", 1, when[0], uuid()), (2, "Problem", 1, when[0], uuid())],
    )
    n = len(patients)
    rows = [
        (
            i + 1,
            1,
            pid,
            penicillin,
            when[i],
            1,
            when[i],
            int(changed[i]),
            when[i] + timedelta(hours=1) if changed[i] else None,
            uuid(),
        )
        for i, pid in enumerate(patients)
    ]
    rows += [
        (n + i + 1, 2, pid, asthma, when[i], 1, when[i], 0, None, uuid())
        for i, pid in enumerate(patients)
    ]
    insert(
        cur,
        "active_list",
        (
            "active_list_id",
            "active_list_type_id",
            "person_id",
            "concept_id",
            "start_date",
            "creator",
            "date_created",
            "voided",
            "date_voided",
            "uuid",
        ),
        rows,
    )
    insert(
        cur,
        "active_list_allergy",
        ("active_list_id", "allergy_type", "reaction_concept_id", "severity"),
        [(i + 1, "DRUG", rash, "MODERATE") for i in range(n)],
    )
    insert(
        cur,
        "active_list_problem",
        ("active_list_id", "sort_weight"),
        [(n + i + 1, 1) for i in range(n)],
    )


def _orders(
    cur: Any,
    insert: Insert,
    uuid: Callable[[], str],
    patients: Sequence[int],
    when: list[datetime],
    changed: list[bool],
    drug_concept: int,
    legacy: bool,
) -> int:
    """Drug orders (and 2.x test orders); returns how many revisions were written."""
    n = len(patients)
    insert(
        cur,
        "order_type",
        ("order_type_id", "name", "creator", "date_created", "uuid"),
        [(1, "Drug order", 1, when[0], uuid()), (2, "Test order", 1, when[0], uuid())],
    )
    if legacy:
        insert(
            cur,
            "orders",
            (
                "order_id",
                "order_type_id",
                "concept_id",
                "orderer",
                "start_date",
                "creator",
                "date_created",
                "patient_id",
                "uuid",
            ),
            [
                (i + 1, 1, drug_concept, 1, when[i], 1, when[i], pid, uuid())
                for i, pid in enumerate(patients)
            ],
        )
        insert(
            cur,
            "drug_order",
            ("order_id", "drug_inventory_id", "dose", "units", "frequency"),
            [(i + 1, 1, 500, "mg", "3/day") for i in range(n)],
        )
        return 0
    cur.execute("SELECT concept_id FROM concept ORDER BY concept_id LIMIT 1")
    first = cur.fetchone()
    test_concept = int(next(iter(first.values())) if isinstance(first, dict) else first[0])
    rows = [
        (
            i + 1,
            1,
            drug_concept,
            1,
            when[i],
            when[i] + timedelta(hours=2) if changed[i] else None,
            1,
            when[i],
            pid,
            uuid(),
            f"ORD-{i + 1}",
            None,
            "NEW",
        )
        for i, pid in enumerate(patients)
    ]
    revised = [i for i in range(n) if changed[i]]
    rows += [
        (
            2 * n + k + 1,
            1,
            drug_concept,
            1,
            when[i] + timedelta(hours=2),
            None,
            1,
            when[i] + timedelta(hours=2),
            patients[i],
            uuid(),
            f"ORD-R{i + 1}",
            i + 1,
            "REVISE",
        )
        for k, i in enumerate(revised)
    ]
    rows += [
        (
            n + i + 1,
            2,
            test_concept,
            1,
            when[i],
            None,
            1,
            when[i],
            pid,
            uuid(),
            f"ORD-T{i + 1}",
            None,
            "NEW",
        )
        for i, pid in enumerate(patients)
    ]
    insert(
        cur,
        "orders",
        (
            "order_id",
            "order_type_id",
            "concept_id",
            "orderer",
            "date_activated",
            "date_stopped",
            "creator",
            "date_created",
            "patient_id",
            "uuid",
            "order_number",
            "previous_order_id",
            "order_action",
        ),
        rows,
    )
    drug_ids = [i + 1 for i in range(n)] + [2 * n + k + 1 for k in range(len(revised))]
    insert(
        cur,
        "drug_order",
        ("order_id", "drug_inventory_id", "dose", "as_needed"),
        [(oid, 1, 500 if oid <= n else 1000, 0) for oid in drug_ids],
    )
    insert(cur, "test_order", ("order_id",), [(n + i + 1,) for i in range(n)])
    return len(revised)
