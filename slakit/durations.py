"""Prometheus-style durations (`90s`, `1h30m`, `500ms`) shared by every config format."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Prometheus duration string; bare numbers are seconds."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("duration must not be negative")
        return float(text)
    value = str(text).strip()
    if not _WHOLE.match(value):
        raise ValueError(f"invalid duration {value!r}: expected e.g. 30s, 5m, 1h30m, 500ms")
    return float(sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value)))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration string for a whole number of milliseconds."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
