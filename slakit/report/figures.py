"""Display of exact figures: percentages truncated (never rounded up past a contract threshold)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from slakit.spec.calendar import zone


def percent(value: Fraction, places: int = 4) -> str:
    """`99.7868 %` of an exact fraction, truncated to `places` decimals: 98.49999 % shows as 98.4999 %."""
    scaled = value * 100 * 10**places
    whole = scaled.numerator // scaled.denominator
    text = f"{whole // 10**places}.{whole % 10**places:0{places}d}"
    exact = "" if scaled.denominator == 1 else "…"
    return f"{text}{exact} %"


def fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def local(seconds: int, tz_name: str) -> str:
    return datetime.fromtimestamp(seconds, zone(tz_name)).strftime("%Y-%m-%d %H:%M %Z")


def utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
