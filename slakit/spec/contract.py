"""Spec models for contract semantics: the planned-downtime policy of a service.

Kept apart from `slakit.spec.model` (which refers to these) so the SLO model stays about measurement.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator

from slakit.durations import format_duration, parse_duration
from slakit.spec.calendar import zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _minutes(value: Any) -> int:
    seconds = parse_duration(value)
    if seconds < 60 or seconds % 60:
        raise ValueError(f"{value!r} must be a whole number of minutes, at least 1m")
    return int(seconds // 60)


Minutes = Annotated[
    int,
    BeforeValidator(_minutes),
    PlainSerializer(lambda m: format_duration(m * 60)),
    WithJsonSchema({"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$", "examples": ["48h", "30d"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessHours(_Strict):
    """When planned downtime may not happen: local hours on working days, public holidays excepted."""

    timezone: str = Field(description="IANA time zone the hours are stated in")
    start: time = Field(time(9, 0), description="local start of business hours, e.g. '09:00'")
    end: time = Field(time(17, 0), description="local end of business hours (exclusive), e.g. '17:00'")
    days: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    holidays: str | None = Field(
        "US",
        description="country code (python `holidays` package) whose public holidays are not business hours; "
        "'US' are the U.S. federal holidays, observed days included",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: time, info) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("business hours must end after they start")
        return value

    @field_validator("holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None:
            import holidays

            if value not in holidays.list_supported_countries():
                raise ValueError(f"unknown holiday country {value!r} (python holidays package)")
        return value


class MaintenancePolicy(_Strict):
    """What makes a window Planned Downtime: outside business hours, announced early enough, not too often."""

    business_hours: BusinessHours
    notice: Minutes = Field(48 * 60, description="announced at least this long before it starts")
    max_instances: int = Field(5, ge=1, description="at most this many windows ...")
    within: Minutes = Field(30 * 24 * 60, description="... in any rolling period this long (starts counted)")
    slos: list[str] | None = Field(None, description="uptime SLOs it excludes minutes from; default: all")
