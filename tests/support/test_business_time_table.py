"""The contract's calendars (US Eastern support hours, US working days) on hand-computed edge cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from slakit.support.business_time import BusinessCalendar, WorkingDays, deadline, elapsed, holiday_set

ET = ZoneInfo("America/New_York")
SUPPORT = BusinessCalendar.build(ET, range(7), (7 * 60, 24 * 60), name="support-hours")
WORKING = BusinessCalendar.build(ET, range(5), holiday=holiday_set("US", None, ("public",), True), name="working-days")


def et(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ET).replace(fold=fold)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (et(2026, 3, 3, 10, 0), et(2026, 3, 3, 11, 0)),
        (et(2026, 3, 3, 23, 30), et(2026, 3, 4, 7, 30)),  # 30 min that evening, 30 the next morning
        (et(2026, 3, 3, 23, 59), et(2026, 3, 4, 7, 59)),  # 11:59 PM is still support hours
        (et(2026, 3, 4, 0, 0), et(2026, 3, 4, 8, 0)),  # midnight: counting starts at 07:00
        (et(2026, 3, 4, 2, 0), et(2026, 3, 4, 8, 0)),
        (et(2026, 3, 4, 6, 59, 30), et(2026, 3, 4, 8, 0)),
        (et(2026, 3, 7, 23, 30), et(2026, 3, 8, 7, 30)),  # Saturday night into the spring-forward Sunday
        (et(2026, 3, 8, 1, 59), et(2026, 3, 8, 8, 0)),  # received just before the clocks jump
        (et(2026, 10, 31, 23, 45), et(2026, 11, 1, 7, 45)),  # into the fall-back Sunday
        (et(2026, 11, 1, 1, 30, fold=1), et(2026, 11, 1, 8, 0)),  # the repeated hour, second time
        (et(2026, 7, 4, 10, 0), et(2026, 7, 4, 11, 0)),  # holidays included
        (et(2026, 7, 3, 10, 0), et(2026, 7, 3, 11, 0)),
    ],
)
def test_response_within_one_hour_of_support_hours(received, due):
    assert deadline(received, timedelta(hours=1), SUPPORT) == due


@pytest.mark.parametrize(
    ("acknowledged", "days", "due"),
    [
        (et(2026, 3, 3, 23, 58), 3, et(2026, 3, 6, 23, 58)),  # Tuesday 11:58 PM: Friday 11:58 PM
        (et(2026, 3, 3, 9, 0), 3, et(2026, 3, 6, 9, 0)),
        (et(2026, 3, 7, 10, 0), 3, et(2026, 3, 12, 0, 0)),  # Saturday: Mon–Wed, across the DST weekend
        (et(2026, 3, 6, 15, 0), 3, et(2026, 3, 11, 15, 0)),  # Friday EST → Wednesday EDT
        (et(2026, 10, 30, 18, 0), 3, et(2026, 11, 4, 18, 0)),  # Friday EDT → Wednesday EST
        (et(2026, 3, 9, 0, 0), 1, et(2026, 3, 10, 0, 0)),  # one whole day from midnight: the end of Monday
        (et(2026, 7, 2, 12, 0), 3, et(2026, 7, 8, 12, 0)),  # Fri 2026-07-03 is Independence Day (observed)
        (et(2026, 7, 3, 12, 0), 3, et(2026, 7, 9, 0, 0)),  # acknowledged on the observed holiday
        (et(2026, 1, 19, 9, 0), 3, et(2026, 1, 23, 0, 0)),  # Martin Luther King Jr. Day
        (et(2026, 11, 10, 8, 0), 3, et(2026, 11, 16, 8, 0)),  # Veterans Day, Wednesday 11-11
        (et(2026, 11, 23, 9, 0), 10, et(2026, 12, 8, 9, 0)),  # Thanksgiving Thursday
        (et(2027, 12, 23, 9, 0), 5, et(2028, 1, 3, 9, 0)),  # Fri 12-24 and Fri 12-31 (observed) closed
        (et(2027, 12, 30, 23, 58), 1, et(2028, 1, 3, 23, 58)),
    ],
)
def test_resolution_in_working_days(acknowledged, days, due):
    assert deadline(acknowledged, WorkingDays(days), WORKING) == due


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 7, 3), "Independence Day (observed)"),
        (date(2027, 12, 24), "Christmas Day (observed)"),
        (date(2027, 12, 31), "New Year's Day (observed)"),
        (date(2027, 6, 18), "Juneteenth National Independence Day (observed)"),
        (date(2028, 11, 10), "Veterans Day (observed)"),
    ],
)
def test_observed_us_holidays_close_working_days(day, name):
    import holidays

    assert holidays.country_holidays("US", observed=True).get(day) == name
    assert WORKING.day_hours(day) is None
    assert WORKING.day_hours(day - timedelta(days=1)) == (0, 1440)  # the Thursday before is a working day


def test_only_federal_public_holidays_close_working_days():
    """Election Day, Christmas Eve and the day after Thanksgiving are working days (not federal holidays)."""
    for day in (date(2026, 11, 3), date(2026, 12, 24), date(2026, 11, 27)):
        assert WORKING.day_hours(day) == (0, 1440)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (et(2026, 3, 6, 15, 0), et(2026, 3, 11, 15, 0), 72),  # 119 real hours, 72 of them working time
        (et(2026, 7, 3, 0, 0), et(2026, 7, 6, 0, 0), 0),  # observed holiday + weekend
        (et(2026, 10, 30, 0, 0), et(2026, 11, 3, 0, 0), 48),
    ],
)
def test_elapsed_working_time(start, end, hours):
    assert elapsed(start, end, WORKING) == timedelta(hours=hours)


def test_support_hours_on_dst_sundays():
    """Support hours are wall-clock 07:00–24:00: 17 real hours on both DST Sundays (changes are at 2 AM)."""
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        start = datetime.combine(day, datetime.min.time(), tzinfo=ET)
        assert elapsed(start, start + timedelta(days=1, hours=2), SUPPORT) == timedelta(hours=17)


def test_working_day_across_a_dst_change_on_a_working_day():
    """Where clocks change on a working day, a working day is a date: the same wall-clock time one day later."""
    weekdays = BusinessCalendar.build("Europe/London", range(7))
    start = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo("Europe/London"))  # Saturday; Sunday has 23 hours
    due = deadline(start, WorkingDays(1), weekdays)
    assert due == datetime(2026, 3, 29, 12, tzinfo=ZoneInfo("Europe/London"))
    assert due - start == timedelta(hours=23)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        deadline(datetime(2026, 3, 3, 10), timedelta(hours=1), SUPPORT)


def test_working_days_need_whole_day_calendars():
    with pytest.raises(ValueError, match="whole days"):
        deadline(datetime(2026, 3, 3, 10, tzinfo=UTC), WorkingDays(1), SUPPORT)
