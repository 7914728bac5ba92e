"""The row readers' fast paths give the text the datetime library gives for the same instant.

``iso`` and ``meta`` skip building an aware copy of each naive DATETIME; the expected values
here are computed the long way, through an aware UTC datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mappers.openmrs_rows._common import iso, meta

_naive = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))


def _expected_iso(dt: datetime) -> str:
    return dt.replace(tzinfo=UTC, microsecond=0).isoformat()


@given(_naive)
def test_iso_of_naive_rows(dt):
    assert iso(dt) == _expected_iso(dt)


@given(_naive, _naive)
def test_meta_takes_the_latest(a, b):
    latest = max(a, b)
    expected_ms = str(int(latest.replace(tzinfo=UTC).timestamp()) * 1000)
    assert meta(a, None, b) == {"versionId": expected_ms, "lastUpdated": _expected_iso(latest)}
    assert meta(latest) == meta(a, b)


def test_known_instants():
    # 2024-06-25 10:56:16 UTC is 1719312976 s after the epoch; 1969-12-31 23:59:59.5 is -0.5 s
    assert meta(datetime(2024, 6, 25, 10, 56, 16)) == {
        "versionId": "1719312976000",
        "lastUpdated": "2024-06-25T10:56:16+00:00",
    }
    assert meta(datetime(1969, 12, 31, 23, 59, 59, 500000))["versionId"] == "0"
    assert iso(datetime(2024, 1, 1, 5, 0, 0, 999)) == "2024-01-01T05:00:00+00:00"
    aware = datetime(2024, 1, 1, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso(aware) == "2024-01-01T05:00:00+00:00"  # the zone is replaced, as before
    assert meta(None) == {} and iso(None) is None
