"""Business-time arithmetic against the minute-walking reference (hypothesis), in DST-change weeks too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slakit.support.business_time import BusinessCalendar, WorkingDays, deadline, elapsed
from tests.support.reference import RefCalendar, deadline_days, deadline_minutes, elapsed_minutes

# Zones with whole-minute offsets: US and EU DST (Sundays), Lord Howe (30-minute DST), Kathmandu (+05:45),
# Santiago (DST changes at local midnight on Saturday/Sunday), and UTC.
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago", "UTC"]
# Starts cluster around DST changes and US observed holidays (± 4 days), besides plain 2026–2027 instants.
ANCHORS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),
    datetime(2026, 10, 3, 15, tzinfo=UTC),
    datetime(2026, 4, 5, 3, tzinfo=UTC),
    datetime(2026, 9, 6, 4, tzinfo=UTC),
    datetime(2026, 7, 3, 4, tzinfo=UTC),
    datetime(2027, 12, 24, 5, tzinfo=UTC),
]

starts = st.one_of(
    st.builds(
        lambda anchor, minutes: anchor + timedelta(minutes=minutes),
        st.sampled_from(ANCHORS),
        st.integers(-4 * 1440, 4 * 1440),
    ),
    st.integers(0, 2 * 365 * 1440).map(lambda m: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m)),
)


@st.composite
def calendars(draw, whole_days: bool = False, start: datetime | None = None) -> RefCalendar:
    zone = draw(st.sampled_from(ZONES))
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=2 if whole_days else 1)))
    if whole_days:
        open_, close = 0, 1440
    else:
        open_ = draw(st.integers(0, 1380))
        close = draw(st.integers(open_ + 60, 1440))
    base = (start or datetime(2026, 1, 1, tzinfo=UTC)).date()
    offsets = draw(st.sets(st.integers(-1, 20), max_size=4))
    return RefCalendar(zone, days, open_, close, frozenset(base + timedelta(days=d) for d in offsets))


def fast(ref: RefCalendar) -> BusinessCalendar:
    holidays = ref.holidays
    return BusinessCalendar.build(ZoneInfo(ref.zone), sorted(ref.days), (ref.open, ref.close), holidays.__contains__)


@st.composite
def cases(draw, whole_days: bool = False):
    start = draw(starts)
    return start, draw(calendars(whole_days=whole_days, start=start))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases(), st.integers(1, 900))
def test_deadline_matches_minute_walk(case, minutes):
    start, ref = case
    due = deadline(start, timedelta(minutes=minutes), fast(ref))
    assert due == deadline_minutes(ref, start, minutes)


@SETTINGS
@given(cases(), st.integers(0, 3 * 1440))
def test_elapsed_matches_minute_walk(case, length):
    start, ref = case
    end = start + timedelta(minutes=length)
    assert elapsed(start, end, fast(ref)) == timedelta(minutes=elapsed_minutes(ref, start, end))


@SETTINGS
@given(cases(whole_days=True), st.integers(1, 5))
def test_working_days_match_wall_clock_walk(case, days):
    start, ref = case
    assert deadline(start, WorkingDays(days), fast(ref)) == deadline_days(ref, start, days)


@SETTINGS
@given(cases(), st.integers(1, 20_000), st.integers(1, 10**6))
def test_deadline_is_the_earliest_instant_with_the_allowance_elapsed(case, minutes, micro):
    """Second-level starts too: elapsed(start, deadline) is the allowance, and a microsecond earlier it is not."""
    start, ref = case
    start += timedelta(microseconds=micro)
    cal = fast(ref)
    allowance = timedelta(minutes=minutes, seconds=micro % 60)
    due = deadline(start, allowance, cal)
    assert elapsed(start, due, cal) == allowance
    assert elapsed(start, due - timedelta(microseconds=1), cal) < allowance
    assert cal.is_open(due - timedelta(microseconds=1))


def test_reference_sees_a_holiday_and_a_weekend():
    """The reference itself: Friday 2026-07-03 (observed) and the weekend are closed, Monday is open."""
    ref = RefCalendar("America/New_York", frozenset(range(5)), 0, 1440, frozenset({date(2026, 7, 3)}))
    start = datetime(2026, 7, 2, 12, tzinfo=ZoneInfo("America/New_York"))
    assert elapsed_minutes(ref, start, start + timedelta(days=4)) == 12 * 60 + 12 * 60
