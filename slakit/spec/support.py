"""The `support:` section of a spec: business-time calendars, the response target and resolution targets.

Self-contained (no import of `slakit.spec.model`, which imports this module).
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from slakit.durations import format_duration, parse_duration
from slakit.spec.calendar import zone
from slakit.spec.ratios import format_percent, parse_percent
from slakit.support.business_time import Allowance, BusinessCalendar, WorkingDays, holiday_set

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])\s*-\s*([01][0-9]|2[0-4]):([0-5][0-9])$")


def _minutes(value: Any) -> int:
    seconds = parse_duration(value)
    if seconds < 60 or seconds % 60:
        raise ValueError(f"{value!r} must be a whole number of minutes, at least 1m")
    return int(seconds // 60)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ValueError(f"invalid name {value!r}: lower-case letters, digits, '-' and '_'")
    return value


def parse_hours(text: Any) -> tuple[int, int]:
    """`"07:00-24:00"` → (420, 1440): minutes since local midnight, open ≤ t < close."""
    match = _HOURS.match(str(text).strip())
    if not match:
        raise ValueError(f"invalid hours {text!r}: expected HH:MM-HH:MM, e.g. '07:00-24:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60 or end <= start:
        raise ValueError(f"invalid hours {text!r}: the end must be after the start and at most 24:00")
    return start, end


def format_hours(span: tuple[int, int]) -> str:
    return f"{span[0] // 60:02d}:{span[0] % 60:02d}-{span[1] // 60:02d}:{span[1] % 60:02d}"


Name = Annotated[str, BeforeValidator(_name)]
Minutes = Annotated[
    int,
    BeforeValidator(_minutes),
    PlainSerializer(lambda m: format_duration(m * 60)),
    WithJsonSchema({"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$", "examples": ["1h", "90m"]}),
]
Percent = Annotated[
    Fraction,
    BeforeValidator(parse_percent),
    PlainSerializer(format_percent, return_type=str),
    WithJsonSchema({"type": ["string", "number"], "pattern": r"^[0-9]+(\.[0-9]+)?\s*%?$", "examples": ["25%"]}),
]
Hours = Annotated[
    tuple[int, int],
    BeforeValidator(lambda v: v if isinstance(v, tuple) else parse_hours(v)),
    PlainSerializer(format_hours, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d\d:\d\d\s*-\s*\d\d:\d\d$", "examples": ["07:00-24:00"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Holidays(_Strict):
    """Closed dates from the `holidays` package; observed dates (a Saturday holiday closes the Friday) included."""

    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. US")
    subdivision: str | None = Field(None, description="state/province code; none = national holidays only")
    categories: list[str] = Field(["public"], min_length=1, description="holiday categories; US public = federal")
    observed: bool = Field(True, description="also close the observed dates")

    @model_validator(mode="after")
    def _known(self) -> Holidays:
        import holidays

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision, categories=tuple(self.categories))
        except NotImplementedError as exc:
            raise ValueError(f"holidays: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"holidays of {self.country}: {exc}") from None
        return self

    def contains(self):
        return holiday_set(self.country, self.subdivision, tuple(self.categories), self.observed)


class CalendarSpec(_Strict):
    """When business time runs: `hours` (local wall clock) on `days`, except `holidays`."""

    timezone: str = Field(description="IANA time zone of the hours and dates")
    days: list[Weekday] = Field(list(WEEKDAYS), min_length=1, description="open weekdays")
    hours: Hours = Field((0, 24 * 60), description="daily opening hours, e.g. '07:00-24:00' (end exclusive)")
    holidays: Holidays | None = Field(None, description="closed dates; none = open on holidays too")

    @model_validator(mode="after")
    def _check(self) -> CalendarSpec:
        zone(self.timezone)
        if len(set(self.days)) != len(self.days):
            raise ValueError("days must be unique")
        return self

    def build(self, name: str) -> BusinessCalendar:
        days = [WEEKDAYS.index(d) for d in self.days]
        holiday = self.holidays.contains() if self.holidays else None
        return BusinessCalendar.build(zone(self.timezone), days, self.hours, holiday, name)


class Target(_Strict):
    """An allowance on a calendar: business time (`within: 1h`) or whole working days (`working_days: 3`)."""

    calendar: Name = Field(description="a calendar of support.calendars")
    within: Minutes | None = Field(None, description="business time on the calendar, e.g. 1h")
    working_days: int | None = Field(None, ge=1, le=366, description="whole open days of a 00:00-24:00 calendar")

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.within is None) == (self.working_days is None):
            raise ValueError("give exactly one of 'within' (e.g. 1h) or 'working_days' (e.g. 3)")
        return self

    @property
    def allowance(self) -> Allowance:
        return WorkingDays(self.working_days) if self.working_days else timedelta(minutes=self.within)

    def describe(self) -> str:
        amount = f"{self.working_days} working days" if self.working_days else format_duration(self.within * 60)
        return f"{amount} of {self.calendar}"


def _check_target(target: Target, calendars: dict[str, CalendarSpec] | None) -> None:
    if calendars is None:  # the calendars themselves are invalid; that error is reported
        return
    if target.calendar not in calendars:
        known = ", ".join(sorted(calendars))
        raise ValueError(f"unknown calendar {target.calendar!r} (defined: {known})")
    if target.working_days and calendars[target.calendar].hours != (0, 24 * 60):
        raise ValueError(f"working_days need a calendar open 00:00-24:00 on its days ({target.calendar!r} is not)")


class SupportPolicy(_Strict):
    """Support SLA of one service: first response and resolution targets in business time."""

    calendars: dict[Name, CalendarSpec] = Field(min_length=1, description="named business-time calendars")
    response: Target = Field(description="first response, counted from the request (any priority)")
    resolution: dict[Name, Target] = Field(
        min_length=1, description="per priority, counted from the later of reported and acknowledged"
    )
    at_risk: Percent = Field(Fraction(1, 4), description="a ticket is at risk with less than this share left")

    @field_validator("response")
    @classmethod
    def _response(cls, target: Target, info: ValidationInfo) -> Target:
        _check_target(target, info.data.get("calendars"))
        return target

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, targets: dict[str, Target], info: ValidationInfo) -> dict[str, Target]:
        for priority, target in targets.items():
            try:
                _check_target(target, info.data.get("calendars"))
            except ValueError as exc:
                raise ValueError(f"{priority}: {exc}") from None
        return targets

    @field_validator("at_risk")
    @classmethod
    def _share(cls, value: Fraction) -> Fraction:
        if not 0 < value < 1:
            raise ValueError("at_risk must be between 0% and 100% (exclusive)")
        return value

    @cached_property
    def business_calendars(self) -> dict[str, BusinessCalendar]:
        return {name: spec.build(name) for name, spec in self.calendars.items()}

    @property
    def priorities(self) -> list[str]:
        return list(self.resolution)

    def response_calendar(self) -> BusinessCalendar:
        return self.business_calendars[self.response.calendar]

    def resolution_calendar(self, priority: str) -> BusinessCalendar:
        return self.business_calendars[self.resolution[priority].calendar]
