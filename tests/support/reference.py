"""Slow, obviously right business time: walk the timeline one minute at a time.

An instant is open when its local wall-clock time falls inside the day's hours and the local date is an open
weekday and no holiday. Only minute-aligned inputs (all hours, offsets and DST changes of the zones used are
whole minutes, so a whole minute is either open or closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class RefCalendar:
    zone: str
    days: frozenset[int]  # weekdays, Monday = 0
    open: int  # minutes since local midnight
    close: int  # up to 1440
    holidays: frozenset[date] = frozenset()

    def open_date(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def open_minute(self, instant: datetime) -> bool:
        local = instant.astimezone(ZoneInfo(self.zone))
        return self.open_date(local.date()) and self.open <= local.hour * 60 + local.minute < self.close


def elapsed_minutes(cal: RefCalendar, start: datetime, end: datetime) -> int:
    count, t = 0, start
    while t < end:
        count += cal.open_minute(t)
        t += MINUTE
    return count


def deadline_minutes(cal: RefCalendar, start: datetime, minutes: int) -> datetime:
    """The instant right after the `minutes`-th open minute counted from `start`."""
    t = start
    while True:
        if cal.open_minute(t):
            minutes -= 1
        t += MINUTE
        if minutes == 0:
            return t


def deadline_days(cal: RefCalendar, start: datetime, days: int) -> datetime:
    """Whole-day calendar: from the first open minute, count `days` × 1440 local wall-clock minutes of open dates."""
    assert (cal.open, cal.close) == (0, 1440)
    t = start
    while not cal.open_minute(t):
        t += MINUTE
    first = t.astimezone(ZoneInfo(cal.zone))
    wall, count = first.replace(tzinfo=None), 0
    while count < days * 1440:
        count += cal.open_date(wall.date())
        wall += MINUTE
    fold = 0 if (wall.hour, wall.minute) == (0, 0) else first.fold
    return wall.replace(tzinfo=ZoneInfo(cal.zone), fold=fold).astimezone(UTC)
