"""Calendar months in an IANA time zone, as exact UTC boundaries (DST-correct)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# promtool runs unit tests at the Unix epoch; these months are always in a boundary table so the
# generated tests exercise the very rules that run in production.
EPOCH_MONTHS = ((1969, 12), (1970, 1), (1970, 2))


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            year, month = (int(part) for part in str(text).split("-"))
        except ValueError:
            raise ValueError(f"invalid month {text!r}: expected YYYY-MM") from None
        if not 1 <= month <= 12 or not 1900 <= year <= 9999:
            raise ValueError(f"invalid month {text!r}: expected YYYY-MM")
        return cls(year, month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Period:
    """One calendar month: [start, end) in Unix seconds; `minutes` counts real elapsed minutes."""

    label: str
    start: int
    end: int

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // 60


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def month_start(month: Month, tz: ZoneInfo) -> int:
    """Unix seconds of local midnight on the 1st.

    Where midnight does not exist (a DST jump at midnight, as in Havana), `fold=0` reads it with the
    offset in force before the jump, which is the instant the clocks jump: the first moment of the day.
    Where midnight happens twice, `fold=0` is the first of them.
    """
    return int(datetime(month.year, month.month, 1, tzinfo=tz).astimezone(UTC).timestamp())


def month_period(month: Month, tz: ZoneInfo) -> Period:
    return Period(str(month), month_start(month, tz), month_start(month.next(), tz))


def month_periods(first: Month, count: int, tz: ZoneInfo, epoch: bool = True) -> list[Period]:
    months = [first]
    while len(months) < count:
        months.append(months[-1].next())
    if epoch:
        months = [Month(y, m) for y, m in EPOCH_MONTHS if Month(y, m) < first] + months
    return [month_period(m, tz) for m in months]


def period_of(instant: int, tz: ZoneInfo) -> Period:
    local = datetime.fromtimestamp(instant, tz)
    return month_period(Month(local.year, local.month), tz)
