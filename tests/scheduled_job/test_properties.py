"""Property-based tests of the export's input boundary, the scheduled time, with the suite's
Hypothesis profile (tests/conftest.py). Any event is either a UTC time to the second or an
InvalidInput that names the problem: no other exception (which would be counted as a bug, not a
refusal)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.support import ROOT, handler_package

with handler_package(ROOT / "lambda_src" / "scheduled_job", {}):
    from nightly_export import export

OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda m: ("-" if m < 0 else "+") + f"{abs(m) // 60:02d}:{abs(m) % 60:02d}"
)
ISO_LIKE = st.builds(
    lambda dt, offset: dt.isoformat() + offset,
    # The ends of the range too, where an offset takes the UTC time out of it.
    st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)])
    | st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    OFFSETS | st.sampled_from(["Z", ""]),
)
EVENTS = st.one_of(
    st.fixed_dictionaries({"scheduled_time": ISO_LIKE | st.text() | st.integers() | st.none()}),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.lists(st.integers(), max_size=2),
    st.text(max_size=10),
)


def _utc_time_or_clear_refusal(event: Any) -> None:
    try:
        scheduled = export.parse_scheduled_time(event)
    except export.InvalidInput as refusal:
        message = str(refusal)
    else:
        message = ""
    if message:
        return
    assert scheduled.tzinfo is UTC
    assert scheduled.microsecond == 0
    assert scheduled == datetime.fromisoformat(event["scheduled_time"]).replace(microsecond=0)


@given(text=ISO_LIKE)
def test_any_iso_time_with_an_offset_is_that_instant_in_utc_or_a_clear_refusal(text: str) -> None:
    _utc_time_or_clear_refusal({"scheduled_time": text})


@given(event=EVENTS)
def test_any_event_is_a_utc_time_or_a_clear_refusal(event: Any) -> None:
    _utc_time_or_clear_refusal(event)
