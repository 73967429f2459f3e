"""Instants in contract files: time-zone aware, on whole minutes, kept as Unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _whole_minute(value: datetime) -> datetime:
    if value.second or value.microsecond:
        raise ValueError(f"{value.isoformat()} is not on a whole minute")
    return value


MinuteInstant = Annotated[AwareDatetime, AfterValidator(_whole_minute)]


def unix(value: datetime) -> int:
    return int(value.timestamp())


def utc_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%MZ")
