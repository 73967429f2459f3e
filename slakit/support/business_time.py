"""Business time: deadlines and elapsed time counted only while a calendar is open.

A `BusinessCalendar` is open, on each weekday it lists, from `open` to `close` local wall-clock time
(minutes since midnight, `close` up to 24:00), except on its holidays. An instant is open when its local
wall-clock time in the calendar's zone falls inside that day's hours, so DST needs no special case: on the
day clocks go forward the skipped hour is never open, on the day they go back the repeated hour is open
twice if the hours cover it. Business time is real elapsed time (seconds) inside open instants.

Two kinds of allowance:

* `timedelta` (e.g. "1 hour in support hours"): the deadline is the earliest instant by which that much
  business time has elapsed since `start`. Counting starts at `start` if it is open, otherwise at the next
  opening: a request received at 02:00 with hours 07:00–24:00 is due at 08:00; one received at 23:30 is due
  at 07:30 the next day (30 minutes that evening, 30 the next morning).
* `WorkingDays(n)` (e.g. "3 working days"), on a calendar whose open days are whole days (00:00–24:00):
  counting starts at the first open instant at or after `start` (a ticket acknowledged on a Saturday starts
  on Monday 00:00), and `n` working days are `n` whole open days of local wall-clock time. The deadline is
  the same local time `n` working days later (acknowledged Tuesday 23:58 → due Friday 23:58 with no holiday
  in between; from Monday 00:00 → due at the end of Wednesday, i.e. Thursday 00:00). Where no DST change
  falls on a working day (the US changes clocks on Sundays) this equals n × 24 h of working-day time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60
# Offsets are sampled this far apart; a zone would need two transitions within 6 h to fool the search.
_STEP = timedelta(hours=6)
_SECOND = timedelta(seconds=1)
# Every UTC offset ever used lies well within this.
_MAX_OFFSET = timedelta(hours=26)
# A calendar with no open instant within this many days is refused rather than searched forever.
_MAX_CLOSED_DAYS = 366


@dataclass(frozen=True)
class WorkingDays:
    """An allowance of whole working days (see the module docstring)."""

    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("an allowance of working days must be at least 1")


Allowance = timedelta | WorkingDays


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """When business time runs: `hours[weekday]` (Monday = 0) is `(open, close)` in minutes, or None."""

    zone: ZoneInfo
    hours: tuple[tuple[int, int] | None, ...]
    holiday: Callable[[date], bool] = lambda _d: False
    name: str = ""

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("hours needs one entry per weekday, Monday first")
        for span in self.hours:
            if span is not None and not 0 <= span[0] < span[1] <= DAY_MINUTES:
                raise ValueError(f"invalid opening hours {span}: need 0 <= open < close <= 24:00")
        if all(span is None for span in self.hours):
            raise ValueError("a calendar must be open on at least one weekday")

    @classmethod
    def build(
        cls,
        zone: str | ZoneInfo,
        days: Sequence[int],
        open_close: tuple[int, int] = (0, DAY_MINUTES),
        holiday: Callable[[date], bool] | None = None,
        name: str = "",
    ) -> BusinessCalendar:
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        hours = tuple(open_close if d in days else None for d in range(7))
        return cls(tz, hours, holiday or (lambda _d: False), name)

    @property
    def whole_days(self) -> bool:
        """Every open day is open from 00:00 to 24:00 (needed for `WorkingDays` allowances)."""
        return all(span is None or span == (0, DAY_MINUTES) for span in self.hours)

    def day_hours(self, day: date) -> tuple[int, int] | None:
        """Opening hours on a local date, None when closed (weekday off or holiday)."""
        span = self.hours[day.weekday()]
        return None if span is None or self.holiday(day) else span

    def is_open(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone)
        span = self.day_hours(local.date())
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return span is not None and span[0] <= minute < span[1]

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals `[a, b)` (UTC, ascending, non-empty) from `start` on, the first clipped at `start`.

        One or two per open day (two where a DST change splits the day's hours), never merged across days.
        """
        start = _utc(start)
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        closed = 0
        while True:
            windows = _day_windows(self, day)
            for a, b in windows:
                if b > start:
                    yield max(a, start), b
            closed = 0 if windows else closed + 1
            if closed > _MAX_CLOSED_DAYS:
                raise ValueError(f"calendar {self.name or '?'} has no open time within {_MAX_CLOSED_DAYS} days")
            day += timedelta(days=1)

    def next_open(self, instant: datetime) -> datetime:
        """The first open instant at or after `instant` (where counting starts)."""
        return next(self.intervals(instant))[0]


@lru_cache(maxsize=16384)
def _day_windows(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The instants whose local date is `day` and local time within its hours, as UTC intervals."""
    span = calendar.day_hours(day)
    if span is None:
        return ()
    midnight_utc = datetime.combine(day, time(), tzinfo=UTC)  # local midnight read as UTC
    first, last = midnight_utc - _MAX_OFFSET, midnight_utc + timedelta(days=1) + _MAX_OFFSET
    windows: list[tuple[datetime, datetime]] = []
    for seg_start, seg_end, offset in _segments(calendar.zone, first):
        if seg_start >= last:
            break
        a = max(seg_start, midnight_utc - offset + timedelta(minutes=span[0]))
        b = min(seg_end, midnight_utc - offset + timedelta(minutes=span[1]))
        if a < b:
            if windows and windows[-1][1] == a:
                windows[-1] = (windows[-1][0], b)
            else:
                windows.append((a, b))
    return tuple(windows)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: business time needs an aware datetime")
    return instant.astimezone(UTC)


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(tz).utcoffset()


def _segments(tz: ZoneInfo, start: datetime) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """Consecutive `[a, b)` pieces of the UTC timeline from `start` during which the zone's offset is constant."""
    t = start
    offset = _offset(tz, t)
    while True:
        probe = t + _STEP
        later = _offset(tz, probe)
        if later == offset:
            yield t, probe, offset
            t = probe
            continue
        lo, hi = t, probe  # offset(lo) == offset, offset(hi) != offset: find the first second of the change
        while hi - lo > _SECOND:
            mid = lo + (hi - lo) / 2
            mid = mid.replace(microsecond=0) if mid.replace(microsecond=0) > lo else mid
            if _offset(tz, mid) == offset:
                lo = mid
            else:
                hi = mid
        yield t, hi, offset
        t, offset = hi, _offset(tz, hi)


def elapsed(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time between two instants (zero if `end <= start`)."""
    start, end = _utc(start), _utc(end)
    total = timedelta()
    if end <= start:
        return total
    for a, b in calendar.intervals(start):
        if a >= end:
            break
        total += min(b, end) - a
    return total


def deadline(start: datetime, allowance: Allowance, calendar: BusinessCalendar) -> datetime:
    """When `allowance` of business time counted from `start` runs out (UTC; see the module docstring)."""
    if isinstance(allowance, WorkingDays):
        return _working_days_deadline(start, allowance.days, calendar)
    if allowance <= timedelta():
        raise ValueError("an allowance of business time must be positive")
    remaining = allowance
    for a, b in calendar.intervals(start):
        if b - a >= remaining:
            return a + remaining
        remaining -= b - a
    raise AssertionError("unreachable: intervals() never ends")


def _working_days_deadline(start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    if not calendar.whole_days:
        raise ValueError(f"calendar {calendar.name or '?'}: working-day allowances need whole days (00:00-24:00)")
    first = calendar.next_open(start).astimezone(calendar.zone)
    day, wall = first.date(), first.time().replace(tzinfo=None)
    # From midnight, n whole days end at the end of the n-th open day (counting the first); otherwise at the
    # same wall-clock time on the n-th open day after the first.
    n = days - 1 if wall == time() else days
    for _ in range(n):
        day = _next_open_day(calendar, day)
    if wall == time():
        return _local(calendar.zone, day + timedelta(days=1), time(), 0)
    return _local(calendar.zone, day, wall, first.fold)


def _next_open_day(calendar: BusinessCalendar, day: date) -> date:
    for _ in range(_MAX_CLOSED_DAYS):
        day += timedelta(days=1)
        if calendar.day_hours(day) is not None:
            return day
    raise ValueError(f"calendar {calendar.name or '?'} has no open day within {_MAX_CLOSED_DAYS} days")


def _local(tz: ZoneInfo, day: date, wall: time, fold: int) -> datetime:
    """A local wall-clock time as UTC: a time skipped by DST is read with the offset before the jump
    (so it lands after the gap), a repeated time is its `fold` occurrence."""
    return datetime.combine(day, wall, tzinfo=tz).replace(fold=fold).astimezone(UTC)


@lru_cache(maxsize=16)
def holiday_set(country: str, subdivision: str | None, categories: tuple[str, ...], observed: bool):
    """Membership test for the `holidays` package's calendar (years expanded lazily on lookup)."""
    import holidays

    table = holidays.country_holidays(country, subdiv=subdivision, observed=observed, categories=categories)
    return table.__contains__
