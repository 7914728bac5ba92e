"""Feed entries as the classic atomfeed module publishes them (Bahmni and other distributions).

One category term, no action, and a plain REST path in the content; encounters point at Bahmni's
``bahmnicore/bahmniencounter`` path (shared/fixtures/openmrs/feeds). The entry says only "this
object changed": a client learns how (edited, voided) from the object itself.
"""

from __future__ import annotations

from html import escape

from ._hospital import CATEGORIES, FeedEvent, Hospital
from ._util import atom_datetime, hashed_uuid

#: category -> (the category term as Bahmni spells it, REST path template)
PATHS = {
    "patient": ("patient", "/openmrs/ws/rest/v1/patient/{uuid}?v=full"),
    "encounter": (
        "Encounter",
        "/openmrs/ws/rest/v1/bahmnicore/bahmniencounter/{uuid}?includeAll=true",
    ),
    "visit": ("visit", "/openmrs/ws/rest/v1/visit/{uuid}?v=full"),
    "observation": ("observation", "/openmrs/ws/rest/v1/obs/{uuid}?v=full"),
    "location": ("location", "/openmrs/ws/rest/v1/location/{uuid}?v=full"),
    # categories a hospital adds to its atomfeed configuration for the whole history
    "allergy": ("allergy", "/openmrs/ws/rest/v1/patient/{patient}/allergy/{uuid}?v=full"),
    "condition": ("condition", "/openmrs/ws/rest/v1/condition/{uuid}?v=full"),
    "diagnosis": ("diagnosis", "/openmrs/ws/rest/v1/patientdiagnoses/{uuid}?v=full"),
    "drug_order": ("drug_order", "/openmrs/ws/rest/v1/order/{uuid}?v=full"),
    "test_order": ("test_order", "/openmrs/ws/rest/v1/order/{uuid}?v=full"),
    "medication_dispense": (
        "medication_dispense",
        "/openmrs/ws/rest/v1/medicationdispense/{uuid}?v=full",
    ),
}


def classic_entry(h: Hospital, category: str, index: int, ev: FeedEvent) -> str:
    """One ``<entry>`` of a classic feed page (same id and time as the Sync 2.0 rendering)."""
    term, template = PATHS[category]
    entry_id = hashed_uuid(h.feed_salt, category, index)
    patient = getattr(ev.rec, "patient", None)
    path = template.format(uuid=ev.rec.uuid, patient=patient.uuid if patient else "")
    content = h.feeds[category].content_overrides.get(index, path)
    stamp = atom_datetime(ev.timestamp)
    return (
        f"  <entry>\n    <title>{CATEGORIES[category].title}</title>\n"
        f'    <category term="{escape(term)}" />\n'
        f"    <id>tag:atomfeed.ict4h.org:{entry_id}</id>\n"
        f"    <updated>{stamp}</updated>\n    <published>{stamp}</published>\n"
        f'    <content type="application/vnd.atomfeed+xml"><![CDATA[{content}]]></content>\n'
        "  </entry>\n"
    )
