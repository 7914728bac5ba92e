"""Admin actions on the passport: resolve a queued conflict, edit a record or a patient.

Each action is audited with who did it (field names only, never values).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from conflicts.demographics import DEMOGRAPHIC_FIELDS, merge_patient, resolved_patient
from conflicts.demographics import edit_patient as _edit_patient
from conflicts.diff import field_diff
from conflicts.links import RESOURCE_TYPE as LINK_TYPE
from conflicts.links import SHARED_NATIONAL_ID, link_summary, resolution_target
from conflicts.records import VISIBLE_FIELDS, edit_changes, synced_record, visible_fields
from mappers.documents import RECORD_RESOURCE_TYPES, PatientDoc

from ..engine.patient_links import patient_uuid_of
from ..store import AuditEntry, Conflict, ParkedRecord, PassportStore, WriteBatch

#: the record types a source patient has (its link moves them together)
_RECORD_TYPES = RECORD_RESOURCE_TYPES
#: list_parked reads oldest first up to a limit; a resolution must see every parked record
_ALL = 10_000_000


class PassportAdmin:
    """Conflict resolution and passport edits, outside any sync."""

    def __init__(self, store: PassportStore, clock: Callable[[], float]) -> None:
        self.store = store
        self._clock = clock

    def conflict_diff(self, conflict_id: int) -> list[dict[str, Any]]:
        """Side-by-side rows (field, base, passport, incoming, changed_by) of one conflict.

        Raises:
            LookupError: no conflict with that id.
        """
        conflict = self._conflict(conflict_id)
        incoming = conflict.incoming
        if conflict.resource_type == LINK_TYPE:
            return _link_diff(conflict)
        if conflict.resource_type != "Patient":
            incoming = visible_fields(incoming)
        return [
            {
                "field": r.field,
                "base": r.base,
                "passport": r.passport,
                "incoming": r.incoming,
                "changed_by": r.changed_by,
            }
            for r in field_diff(conflict.base, conflict.passport, incoming)
        ]

    def resolve_conflict(
        self,
        conflict_id: int,
        take: str | None = None,
        merged: dict[str, Any] | None = None,
        actor: str = "admin",
    ) -> Conflict:
        """Settle a queued conflict: take the source's or the passport's content, or ``merged``.

        Side effects: writes the chosen content (the incoming source content becomes the new
        base), closes the conflict and any older open one of the same record, audits who did it.
        Fields missing from ``merged`` keep the passport's value. A ``PatientLink`` review
        (``conflicts/links.py``) relinks the source patient instead: ``take="source"``, or
        ``merged={"patient_id": <candidate>}`` when several candidates were proposed.

        Raises:
            LookupError: no such conflict, or its record / patient is gone from the passport.
            ValueError: not exactly one of ``take`` / ``merged``, an unknown ``take``, a field
                that cannot be edited, or the conflict is already resolved or has a newer one.
        """
        _check_choice(take, merged)
        conflict, same = self._open_conflict(conflict_id)
        how = f"took {take}" if take else "merged"
        ref = f"{conflict.resource_type}/{conflict.uuid}"
        if conflict.resource_type == "Patient":
            self._resolve_patient(conflict, take, merged, actor, how)
        elif conflict.resource_type == LINK_TYPE:
            self._resolve_link(conflict, take, merged)
        else:
            self._resolve_record(conflict, take, merged, actor, how)
        resolution = f"{how} by {actor}"
        self.store.close_conflict(conflict_id, resolution)
        for older in same:
            if older.id is not None:
                self.store.close_conflict(older.id, f"superseded by conflict {conflict_id}")
        self.store.add_audit(
            AuditEntry(
                kind="conflict-resolved",
                source=conflict.source,
                actor=actor,
                message=f"conflict {conflict_id} ({ref}): {how}",
                details={"conflict_id": conflict_id, "take": take, "merged": merged is not None},
            )
        )
        closed = self.store.get_conflict(conflict_id)
        return closed if closed is not None else conflict

    def _open_conflict(self, conflict_id: int) -> tuple[Conflict, list[Conflict]]:
        """The conflict, if it is still open and the newest of its record, with the other
        open ones of that record (closed along with it)."""
        conflict = self._conflict(conflict_id)
        if conflict.state != "open":
            msg = f"conflict {conflict_id} is already {conflict.state}"
            raise ValueError(msg)
        key = (conflict.source, conflict.resource_type, conflict.uuid)
        same = [
            c
            for c in self.store.list_conflicts(state="open")
            if (c.source, c.resource_type, c.uuid) == key and c.id != conflict.id
        ]
        newer = [c.id for c in same if (c.id or 0) > conflict_id]
        if newer:
            msg = f"conflict {conflict_id} has a newer one for the same record: resolve {newer[-1]}"
            raise ValueError(msg)
        return conflict, same

    def _resolve_record(
        self,
        conflict: Conflict,
        take: str | None,
        merged: dict[str, Any] | None,
        actor: str,
        how: str,
    ) -> None:
        found = self.store.get_records(conflict.source, conflict.resource_type, [conflict.uuid])
        stored = found.get(conflict.uuid)
        if stored is None:
            msg = f"{conflict.resource_type}/{conflict.uuid} is no longer in the passport"
            raise LookupError(msg)
        passport = visible_fields(stored)
        if take == "source":
            fields = visible_fields(conflict.incoming)
        elif take == "passport":
            fields = passport
        else:
            fields = {**passport, **_only(merged or {}, VISIBLE_FIELDS)}
        doc = synced_record(conflict.incoming, fields, stored)
        if merged is not None and doc["sync_state"].get("edited_fields"):
            doc["sync_state"]["edited_at"] = self._now_iso()
            doc["sync_state"]["edited_by"] = actor
        changes = {
            k: doc.get(k)
            for k in (*VISIBLE_FIELDS, "content_hash", "version", "last_updated", "raw")
        }
        changes["sync_state"] = doc["sync_state"]
        self.store.update_record(conflict.source, conflict.resource_type, conflict.uuid, changes)

    def _resolve_patient(
        self,
        conflict: Conflict,
        take: str | None,
        merged: dict[str, Any] | None,
        actor: str,
        how: str,
    ) -> None:
        stored = self.store.get_patient(conflict.uuid)
        if stored is None:
            msg = f"Patient/{conflict.uuid} is no longer in the passport"
            raise LookupError(msg)
        stored = {k: v for k, v in stored.items() if k != "links"}
        passport = {k: stored.get(k) for k in DEMOGRAPHIC_FIELDS}
        if take == "source":
            fields = {k: conflict.incoming.get(k) for k in DEMOGRAPHIC_FIELDS}
        elif take == "passport":
            fields = passport
        else:
            chosen = _only(merged or {}, DEMOGRAPHIC_FIELDS)
            fields = {**passport, **with_derived_name(passport, chosen)}
        doc = resolved_patient(stored, fields, conflict.incoming)
        if merged is not None and doc.get("edited") is not None:
            doc["edited"] = {"at": self._now_iso(), "by": actor, "fields": sorted(merged)}
        self.store.apply(WriteBatch(passport_patients={conflict.uuid: doc}))

    def _resolve_link(
        self, conflict: Conflict, take: str | None, merged: dict[str, Any] | None
    ) -> None:
        """A patient-link review: ``take="passport"`` leaves the link as it is; ``"source"`` (or
        ``merged={"patient_id": <candidate>}``) links the source patient where the review says.

        Side effects, records first and the link last (a crash in between leaves the conflict
        open, and resolving it again finishes the move): the source patient's stored records
        move to the target, its parked records attach, the passport patient is created if
        needed (else only this hospital's version is added under ``sources``; the shown
        demographics wait for the next sync's policy and edit rules), the link is rewritten.
        """
        target = resolution_target(conflict.incoming, take, merged)
        if target is None:
            return
        uuid = patient_uuid_of(conflict)
        link = self.store.get_patient_link(conflict.source, uuid)
        if link is None:
            msg = f"{LINK_TYPE}/{conflict.uuid}: the source patient is no longer in the passport"
            raise LookupError(msg)
        for rtype in _RECORD_TYPES:
            for rec in self.store.find_records(conflict.source, rtype, patient_uuid=uuid):
                if rec.get("patient_id") != target:
                    self.store.update_record(
                        conflict.source, rtype, rec["uuid"], {"patient_id": target}
                    )
        doc = PatientDoc(**{k: v for k, v in link.items() if k in PatientDoc.__dataclass_fields__})
        if conflict.incoming.get("case") == SHARED_NATIONAL_ID:
            doc.national_id = conflict.incoming.get("national_id")  # was the review key
        doc.patient_id = target
        waiting = [
            ParkedRecord(national_id=target, record=p.record)
            for p in self.store.list_parked(limit=_ALL)
            if p.record.source == conflict.source and p.record.patient_uuid == uuid
        ]
        existing = self.store.get_patient(target)
        version = merge_patient(None, target, conflict.source, doc.to_dict())
        passport = version if existing is None else {"sources": version["sources"]}
        # parked rows re-keyed to the target attach in this same write (the link names it)
        self.store.apply(
            WriteBatch(patients=[doc], passport_patients={target: passport}, parked=waiting)
        )

    def edit_record(
        self,
        source_id: str,
        resource_type: str,
        uuid: str,
        changes: dict[str, Any],
        actor: str = "admin",
    ) -> dict[str, Any]:
        """An admin's correction of a record's passport-visible fields.

        Side effects: updates the stored record (its base stays the source's, so the next sync
        sees the passport changed) and audits the field names (never the values).

        Raises:
            LookupError: no such record in the passport.
            ValueError: a field that cannot be edited, or no change at all.
        """
        if not changes:
            msg = "nothing to change"
            raise ValueError(msg)
        stored = self.store.get_records(source_id, resource_type, [uuid]).get(uuid)
        if stored is None:
            msg = f"no record {resource_type}/{uuid} from {source_id} in the passport"
            raise LookupError(msg)
        update = edit_changes(stored, changes, actor=actor, at=self._now_iso())
        self.store.update_record(source_id, resource_type, uuid, update)
        self.store.add_audit(
            AuditEntry(
                kind="passport-edit",
                source=source_id,
                actor=actor,
                message=f"{resource_type}/{uuid}: edited {', '.join(sorted(changes))}",
                details={"fields": sorted(changes)},
            )
        )
        return {**stored, **update}

    def edit_patient(
        self, patient_id: str, changes: dict[str, Any], actor: str = "admin"
    ) -> dict[str, Any]:
        """An admin's correction of a passport patient's demographics.

        Side effects: writes the patient (each hospital's version stays under ``sources``) and
        audits the field names (never the values).

        Raises:
            LookupError: no such patient.
            ValueError: a field that is not a demographic field, or no change at all.
        """
        if not changes:
            msg = "nothing to change"
            raise ValueError(msg)
        stored = self.store.get_patient(patient_id)
        if stored is None:
            msg = f"no patient {patient_id} in the passport"
            raise LookupError(msg)
        stored = {k: v for k, v in stored.items() if k != "links"}
        doc = _edit_patient(
            stored, with_derived_name(stored, changes), actor=actor, at=self._now_iso()
        )
        audit = AuditEntry(
            kind="passport-edit",
            actor=actor,
            message=f"passport patient edited: {', '.join(sorted(changes))}",
            details={"fields": sorted(changes)},
        )
        self.store.apply(WriteBatch(passport_patients={patient_id: doc}, audit=[audit]))
        return doc

    def _conflict(self, conflict_id: int) -> Conflict:
        conflict = self.store.get_conflict(conflict_id)
        if conflict is None:
            msg = f"no conflict {conflict_id}"
            raise LookupError(msg)
        return conflict

    def _now_iso(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat()


def _link_diff(conflict: Conflict) -> list[dict[str, Any]]:
    """A link review side by side: the previous link document (summarised), the current link,
    what the hospital says now. Identifiers other than national IDs are left out."""
    base = conflict.base or {}
    before = {"patient_id": base.get("patient_id"), "national_id": base.get("national_id")}
    before.update(link_summary(base))
    incoming = {k: v for k, v in conflict.incoming.items() if k not in ("key", "case")}
    return [
        {
            "field": r.field,
            "base": r.base,
            "passport": r.passport,
            "incoming": r.incoming,
            "changed_by": r.changed_by,
        }
        for r in field_diff(before if conflict.base else None, conflict.passport, incoming)
    ]


def _given_list(value: Any) -> list[str]:
    """``given`` as the passport keeps it: a list (given, then middle names)."""
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value or [] if v]


def with_derived_name(before: Mapping[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` plus the shown ``name`` again when ``given`` or ``family`` change without it.

    The shown name is made from the parts (or is the hospital's name text): an edit of a part
    that left it alone would show the old name for ever. A part that appears as a word of the
    old name is replaced there (a text such as ``Dr Ann Lee`` keeps its shape); otherwise the
    name is made from the parts again.

    >>> old = {"name": "Ann Lee", "given": ["Ann"], "family": "Lee"}
    >>> with_derived_name(old, {"family": "Ray"})
    {'family': 'Ray', 'name': 'Ann Ray'}
    >>> with_derived_name({**old, "name": "Dr Ann Lee"}, {"given": "Anna Maria"})["name"]
    'Dr Anna Maria Lee'
    >>> with_derived_name(old, {"family": "Ray", "name": "A. Ray"})["name"]
    'A. Ray'
    """
    if "name" in changes or not {"given", "family"} & set(changes):
        return changes
    out = dict(changes)
    if "given" in out:
        out["given"] = _given_list(out["given"])
    old_given, new_given = _given_list(before.get("given")), out.get("given")
    old_family, new_family = before.get("family"), out.get("family", before.get("family"))
    name = str(before.get("name") or "")
    swaps = [(" ".join(old_given), " ".join(new_given or []))] if new_given is not None else []
    swaps += [(str(old_family or ""), str(new_family or ""))] if "family" in out else []
    for old, new in swaps:
        pattern = rf"(?<!\S){re.escape(old)}(?!\S)" if old else None
        if pattern is None or not re.search(pattern, name):
            parts = [*(new_given if new_given is not None else old_given), new_family]
            out["name"] = " ".join(str(p) for p in parts if p) or None
            return out
        name = re.sub(pattern, new, name, count=1)
    out["name"] = " ".join(name.split()) or None
    return out


def _only(values: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        msg = f"not editable: {', '.join(unknown)} (editable: {', '.join(allowed)})"
        raise ValueError(msg)
    return dict(values)


def _check_choice(take: str | None, merged: dict[str, Any] | None) -> None:
    """Exactly one of a side to take or merged content."""
    if (take is None) == (merged is None):
        msg = "give exactly one of take ('source' | 'passport') or merged"
        raise ValueError(msg)
    if take is not None and take not in ("source", "passport"):
        msg = f"take must be 'source' or 'passport', not {take!r}"
        raise ValueError(msg)
