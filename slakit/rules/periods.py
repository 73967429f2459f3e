"""Shared month-boundary tables: one constant series per calendar month and time zone.

PromQL's time functions are UTC only, so the generator computes each month's boundaries in the
contract's IANA time zone (DST included) and records them as constants:

    slakit:period:start_timestamp_seconds{timezone, period}   Unix seconds of local midnight on the 1st

Each SLO finds the period of the minute it counts with `topk(1, start <= minute)`, and the period's
length from the next row, `bottomk(1, start > minute)` (44 580 minutes for March 2026 in New York). A
last row, `period="beyond-table"`, holds the end of the last month, so minutes after the table are
never filed under its last month; `SlakitPeriodTableExpiring` warns 60 days before that happens.
Separate one-line rules are the cheapest form: no regular expressions are compiled per evaluation.
"""

from __future__ import annotations

from slakit.rules.model import Group, Rule
from slakit.rules.promql import quote
from slakit.spec.calendar import Period
from slakit.spec.model import Spec

START = "slakit:period:start_timestamp_seconds"
BEYOND = "beyond-table"
GROUP = "slakit-periods"


def timezone_periods(specs: list[Spec]) -> dict[str, list[Period]]:
    """Every month any spec needs, per time zone, in order."""
    out: dict[str, dict[str, Period]] = {}
    for spec in specs:
        if spec.calendar is not None:
            table = out.setdefault(spec.calendar.timezone, {})
            for period in spec.periods:
                table[period.label] = period
    return {tz: sorted(rows.values(), key=lambda p: p.start) for tz, rows in sorted(out.items())}


def period_groups(specs: list[Spec]) -> list[Group]:
    rules: list[Rule] = []
    for tz, periods in timezone_periods(specs).items():
        for p in periods:
            rules.append(Rule.recording(START, f"vector({p.start})", {"timezone": tz, "period": p.label}))
        rules.append(Rule.recording(START, f"vector({periods[-1].end})", {"timezone": tz, "period": BEYOND}))
    return [Group(GROUP, 1, rules)] if rules else []


def start_selector(timezone: str) -> str:
    return f"{START}{{timezone={quote(timezone)}}}"
