"""Conflicts between the passport and the hospitals: detection, strategies, resolution.

Pure: functions over plain dicts, no I/O. The engine (``sync2.pipeline``) reads the stored
record, calls :func:`check_record`, and writes what the decision says.

Three sides, as Sync 2.0 and db-sync have them (research: sync2-atomfeed §3.7, peers §1):

* **base**: what the last sync wrote. For a record, ``sync_state.base_hash`` is the canonical
  hash of the source resource then (``RecordDoc.content_hash``), ``sync_state.base_fields`` the
  passport-visible fields it produced, ``sync_state.passport_hash`` their hash.
* **passport**: the record's visible fields now (:data:`VISIBLE_FIELDS`: type, name, value,
  unit, effective, status, doctor, facility, data). An admin's edit (``sync2 passport edit``)
  changes them and marks ``edited_at`` / ``edited_by`` / ``edited_fields``; an edit by another
  passport app is found by recomputing the hash. A status the engine set because the source
  voided or superseded the record is not a passport edit.
* **incoming**: the mapped record just fetched; its content hash says whether the source
  changed, so a re-rendered resource (new ``meta.versionId``, narrative, links) does not.

Rules: nothing changed -> ``echo`` (no write, no audit, counted unchanged); only the passport
changed -> ``keep``; only the source changed -> ``apply``; both made the same change -> ``apply``;
the source changed only fields the passport does not show -> keep the edit, move the base;
otherwise the strategy configured for the resource type (``[conflicts]``) decides:

* ``source-wins`` / ``passport-wins``: that side's whole visible content;
* ``latest-wins``: the source's ``meta.lastUpdated`` against the passport edit time, ties to the
  source; an edit with no time (another app's) loses; a source with no time goes to manual;
* ``manual``: the conflict queue, with base / passport / incoming; the passport keeps its
  content until someone resolves it;
* ``merge``: field by field (nested ``data`` key by key); changes to different fields merge,
  fields both changed differently fall back to ``merge_fallback``.

After any write the base is the incoming source content. A passport correction the strategy
kept therefore stays "changed since base": the next source change to the same field is a
conflict again, and changes to other fields merge. A resolution from the queue (take source,
take passport, or a merged document) follows the same rule and is audited.

Patients: every hospital's version is kept under ``sources``; the shown demographics are picked
by ``demographics = "priority" | "latest"`` and then go through the same rules against an
admin's correction (``demographics_base``, ``edited`` on the patient).
"""

from __future__ import annotations

from .demographics import (
    DEMOGRAPHIC_FIELDS,
    POLICIES,
    PatientOutcome,
    Policy,
    choose_source,
    demographics,
    edit_patient,
    merge_patient,
    reconcile_patient,
    resolved_patient,
)
from .diff import DiffRow, field_diff, show
from .hashing import canonical, canonical_hash, fields_hash
from .records import (
    VISIBLE_FIELDS,
    RecordState,
    check_record,
    edit_changes,
    record_state,
    synced_record,
    visible_fields,
)
from .strategies import (
    FALLBACKS,
    STRATEGIES,
    Decision,
    Fallback,
    Strategy,
    decide,
    latest,
    merge_fields,
    parse_time,
)

__all__ = [
    "DEMOGRAPHIC_FIELDS",
    "FALLBACKS",
    "POLICIES",
    "STRATEGIES",
    "VISIBLE_FIELDS",
    "Decision",
    "DiffRow",
    "Fallback",
    "PatientOutcome",
    "Policy",
    "RecordState",
    "Strategy",
    "canonical",
    "canonical_hash",
    "check_record",
    "choose_source",
    "decide",
    "demographics",
    "edit_changes",
    "edit_patient",
    "field_diff",
    "fields_hash",
    "latest",
    "merge_fields",
    "merge_patient",
    "parse_time",
    "reconcile_patient",
    "record_state",
    "resolved_patient",
    "show",
    "synced_record",
    "visible_fields",
]
