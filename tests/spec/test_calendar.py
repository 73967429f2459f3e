"""Calendar months in IANA zones: `month_period` against a slow reference that walks UTC instants.

The reference never builds an aware local datetime: it scans UTC instants (15-minute steps, then
seconds) for the first one whose local wall-clock time is at or after midnight on the 1st, so a
midnight lost to DST starts the month at the jump, and repeated hours resolve to their first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slakit.spec.calendar import EPOCH_MONTHS, Month, month_period, month_periods, period_of, zone

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Santiago",
    "America/Havana",
    "UTC",
]
EPOCH = datetime(1970, 1, 1)
COARSE = 900


def _local_naive(instant: int, tz) -> datetime:
    return datetime.fromtimestamp(instant, UTC).astimezone(tz).replace(tzinfo=None)


def reference_start(year: int, month: int, tzname: str) -> int:
    """First Unix second whose local wall-clock time is on or after local midnight of the 1st."""
    tz = zone(tzname)
    target = datetime(year, month, 1)
    naive = int((target - EPOCH).total_seconds())
    # Every UTC offset ever used lies within ±16 h.
    lo = naive - 16 * 3600
    assert _local_naive(lo, tz) < target
    t = lo
    while _local_naive(t, tz) < target:
        t += COARSE
    # The first crossing lies in (t - COARSE, t]: walk it second by second.
    for s in range(t - COARSE + 1, t + 1):
        if _local_naive(s, tz) >= target:
            return s
    raise AssertionError("unreachable")


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


months = st.tuples(st.integers(1900, 2200), st.integers(1, 12))


@settings(max_examples=300, deadline=None)
@given(tzname=st.sampled_from(ZONES), ym=months)
@example(tzname="America/Havana", ym=(2012, 4))  # DST began at midnight on 1 April 2012
@example(tzname="America/Havana", ym=(2001, 4))  # ... and on 1 April 2001
@example(tzname="America/Havana", ym=(2015, 11))  # DST ended 01:00 -> 00:00 on 1 November 2015
@example(tzname="America/Santiago", ym=(1932, 9))  # midnight lost to DST on 1 September
@example(tzname="America/New_York", ym=(2026, 3))
@example(tzname="Australia/Lord_Howe", ym=(2026, 4))  # half-hour DST
@example(tzname="Asia/Kathmandu", ym=(1986, 1))  # +5:30 -> +5:45 on 1 January 1986
def test_month_period_matches_reference(tzname: str, ym: tuple[int, int]):
    year, month = ym
    period = month_period(Month(year, month), zone(tzname))
    start = reference_start(year, month, tzname)
    end = reference_start(*next_month(year, month), tzname)
    assert (period.label, period.start, period.end) == (f"{year:04d}-{month:02d}", start, end)
    assert period.minutes == (end - start) // 60
    # The instant before the month is still in the previous month, locally.
    before = _local_naive(period.start - 1, zone(tzname))
    assert (before.year, before.month) != (year, month)


@pytest.mark.parametrize(
    ("tzname", "month", "start"),
    [
        ("America/Havana", "2012-04", "2012-04-01T01:00:00-04:00"),
        ("America/Asuncion", "2023-10", "2023-10-01T01:00:00-03:00"),
        ("Asia/Amman", "2016-04", "2016-04-01T01:00:00+03:00"),
    ],
)
def test_month_starting_in_a_dst_gap(tzname: str, month: str, start: str):
    """Midnight on the 1st does not exist: the month starts at the jump and the previous one ends there."""
    tz = zone(tzname)
    period = month_period(Month.parse(month), tz)
    assert datetime.fromtimestamp(period.start, tz).isoformat() == start
    before = datetime.fromtimestamp(period.start - 1, tz)
    assert before.strftime("%Y-%m") < month and before.time().isoformat() == "23:59:59"


def test_midnight_lost_to_dst_starts_the_month_at_the_jump():
    """Havana skipped 00:00-01:00 on 1 April 2012: April starts at 01:00 CDT (05:00 UTC), not in March."""
    tz = zone("America/Havana")
    period = month_period(Month(2012, 4), tz)
    assert datetime.fromtimestamp(period.start, tz).isoformat() == "2012-04-01T01:00:00-04:00"
    assert period.start == int(datetime(2012, 4, 1, 5, tzinfo=UTC).timestamp())
    assert month_period(Month(2012, 3), tz).end == period.start


@pytest.mark.parametrize(
    ("month", "minutes"),
    [("2026-03", 44_580), ("2026-11", 43_260), ("2026-10", 44_640), ("2026-02", 40_320), ("2026-01", 44_640)],
)
def test_new_york_month_lengths(month: str, minutes: int):
    assert month_period(Month.parse(month), zone("America/New_York")).minutes == minutes


def test_fixed_boundaries():
    ny = zone("America/New_York")
    march = month_period(Month(2026, 3), ny)
    assert march.start == int(datetime(2026, 3, 1, 5, tzinfo=UTC).timestamp())  # EST
    assert march.end == int(datetime(2026, 4, 1, 4, tzinfo=UTC).timestamp())  # EDT
    # Lord Howe: +11 in summer, +10:30 in winter.
    lh = month_period(Month(2026, 4), zone("Australia/Lord_Howe"))
    assert lh.minutes == 30 * 1440 + 30
    assert month_period(Month(2026, 10), zone("Australia/Lord_Howe")).minutes == 31 * 1440 - 30
    # Kathmandu never changes offset after 1986: every month is its days.
    assert month_period(Month(2026, 2), zone("Asia/Kathmandu")).minutes == 28 * 1440
    assert month_period(Month(2028, 2), zone("UTC")).minutes == 29 * 1440
    assert month_period(Month(1970, 1), zone("UTC")).start == 0


@settings(max_examples=60, deadline=None)
@given(tzname=st.sampled_from(ZONES), first=months, count=st.integers(1, 30))
def test_consecutive_months_tile(tzname: str, first: tuple[int, int], count: int):
    tz = zone(tzname)
    start = Month(*first)
    periods = month_periods(start, count, tz)
    epoch = [Month(y, m) for y, m in EPOCH_MONTHS if Month(y, m) < start]
    assert [p.label for p in periods[: len(epoch)]] == [str(m) for m in epoch]
    table = periods[len(epoch) :]
    assert len(table) == count
    assert table[0].label == str(start)
    for a, b in pairwise(periods):
        assert a.start < a.end
        if Month.parse(b.label) == Month.parse(a.label).next():
            assert a.end == b.start, (a, b)
    for p in table:
        assert 28 * 1440 - 120 <= p.minutes <= 31 * 1440 + 120, p
    assert month_periods(start, count, tz, epoch=False) == table


def test_epoch_months_always_present():
    tz = zone("America/New_York")
    labels = [p.label for p in month_periods(Month(2026, 1), 3, tz)]
    assert labels == ["1969-12", "1970-01", "1970-02", "2026-01", "2026-02", "2026-03"]
    # New York's January 1970 starts five hours after the epoch.
    assert month_periods(Month(2026, 1), 1, tz)[1].start == 5 * 3600


@settings(max_examples=200, deadline=None)
@given(tzname=st.sampled_from(ZONES), instant=st.integers(0, 4_102_444_800))
def test_period_of_contains_the_instant(tzname: str, instant: int):
    tz = zone(tzname)
    period = period_of(instant, tz)
    assert period.start <= instant < period.end
    local = datetime.fromtimestamp(instant, tz)
    assert period.label == f"{local.year:04d}-{local.month:02d}"


def test_month_parse_and_next():
    assert str(Month.parse("2026-3")) == "2026-03"
    assert Month(2026, 12).next() == Month(2027, 1)
    for bad in ("2026-13", "2026", "march", "1899-12", "2026-00"):
        with pytest.raises(ValueError, match="expected YYYY-MM"):
            Month.parse(bad)


def test_unknown_zone():
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        zone("../etc/passwd")


def test_reference_walks_a_whole_day_of_offsets():
    """Sanity of the reference itself: UTC months start at midnight UTC, Kathmandu's 5:45 before."""
    assert reference_start(2026, 3, "UTC") == int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    expected = datetime(2026, 3, 1, tzinfo=UTC) - timedelta(hours=5, minutes=45)
    assert reference_start(2026, 3, "Asia/Kathmandu") == int(expected.timestamp())
