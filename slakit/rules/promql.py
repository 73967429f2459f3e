"""Small PromQL text builders: selectors, ranges, exact integer comparisons, boundary tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fractions import Fraction

from slakit.durations import format_duration
from slakit.spec.ratios import format_number

_RE2_SPECIAL = re.compile(r"([.+*?()|\[\]{}^$\\])")


def quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def regex_alternatives(values: Iterable[str]) -> str:
    """An RE2 pattern matching exactly these literal strings."""
    return "|".join(_RE2_SPECIAL.sub(r"\\\1", v) for v in values)


def selector(metric: str, labels: Mapping[str, str], regex: Mapping[str, str] | None = None) -> str:
    matchers = [f"{k}={quote(v)}" for k, v in labels.items()]
    matchers += [f"{k}=~{quote(v)}" for k, v in (regex or {}).items()]
    return f"{metric}{{{','.join(matchers)}}}"


def window(minutes: int) -> str:
    """A range of `minutes` one-minute samples on Prometheus 2.x and 3.x alike.

    2.x ranges include their left edge (a `[1h]` range holds 61 samples evaluated every minute), 3.x
    ranges exclude it; one second less holds exactly `minutes` samples on both.
    """
    return f"[{format_duration(minutes * 60 - 1)}]"


def window_name(minutes: int) -> str:
    """`5m`, `1h`, `1d`: the suffix of recorded window series."""
    return format_duration(minutes * 60)


def exceeds(bad: str, total: str, limit: Fraction) -> str:
    """`bad / total > limit` without division or float rounding: `bad * q > total * p`."""
    return f"{bad} * {limit.denominator} > {total} * {limit.numerator}"


def number(value: Fraction | int | float) -> str:
    return format_number(value)


def counter_increment(now: str, before: str) -> str:
    """Exact increment of a counter between two instants, reset-aware and gap-safe.

    A reset (the new value is below the old) counts the new value, everything since the restart. A series
    with no sample at `before` (new, or back after a gap longer than the lookback) counts nothing: its
    cumulative value says nothing about this minute. slakit's exporter creates every series at 0, so a
    new series loses nothing.
    """
    return f"({now} - {before} >= 0) or ({now} and {now} - {before} < 0)"


def counter_increase(sel: str) -> str:
    """Events counted by `sel` in the last minute."""
    return counter_increment(sel, f"{sel} offset 1m")


def minute_counter_increase(sel: str) -> str:
    """Increment of a minute counter stamped at minute boundaries: the minute that ended one minute ago.

    The exporter stamps `slakit_probe_minutes_total` with the end of the last closed minute, so reading it
    one and two minutes back gives, at every evaluation, exactly one closed minute per location, aligned
    across locations whatever the scrape phase.
    """
    return counter_increment(f"{sel} offset 1m", f"{sel} offset 2m")


def counted_minute(lag_seconds: int) -> str:
    """Start (Unix seconds) of the minute an evaluation counts: `lag_seconds` before the current minute."""
    return f"(floor(vector(time()) / 60) * 60 - {lag_seconds})"
