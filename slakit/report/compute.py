"""A month's contract figures for one SLO, from its measured minutes (pure: no I/O).

Uptime SLOs ("Monthly Uptime Percentage"): every minute of the calendar month counts. A measured bad minute
is *excluded* when an accepted maintenance window covers it (planned downtime), else when an external
dependency's probe saw it down, else when an effective ledger entry covers it; otherwise it is
*unavailable*. Unknown minutes (no location reported it, or no evaluation at all) count as available in
the stated figures — there is no evidence the licensee could not access the service — and as unavailable
in the worst case, unless a window or ledger entry covers them. All figures are integers and fractions.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction

from slakit.contract.ledger import Entry
from slakit.contract.policy import Verdict
from slakit.report.fetch import SloMinutes
from slakit.spec.calendar import Month, Period, month_period, zone
from slakit.spec.model import SLO, Credits, Spec

CAUSES = ("maintenance", "external", "ledger")


@dataclass
class Day:
    day: date
    minutes: int
    unavailable: int = 0
    excluded: int = 0
    unknown: int = 0

    @property
    def uptime(self) -> Fraction:
        return Fraction(self.minutes - self.unavailable, self.minutes)


@dataclass
class RollingMonth:
    month: str
    credits: int | None  # None: not in the store
    source: str  # "this report", "store v2", "missing"


@dataclass
class SloReport:
    spec: Spec
    slo: SLO
    month: Month
    period: Period
    measured: SloMinutes
    closed: bool
    # uptime
    unavailable: int = 0
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CAUSES, 0))
    unknown: int = 0
    unknown_uncovered: int = 0
    windows: list[tuple[Verdict, int]] = field(default_factory=list)  # verdict, minutes it excluded
    entries: list[tuple[Entry, int]] = field(default_factory=list)
    minute_class: dict[int, str] = field(default_factory=dict)  # minute start -> unavailable|<cause>|unknown
    days: list[Day] = field(default_factory=list)
    rolling: list[RollingMonth] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return self.period.minutes

    @property
    def kind(self) -> str:
        return self.slo.sli.kind

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    @property
    def bad_fraction(self) -> Fraction:
        if self.kind == "uptime":
            return Fraction(self.unavailable, self.minutes)
        m = self.measured
        return Fraction(m.bad_events, m.total_events) if m.total_events else Fraction(0)

    @property
    def bad_fraction_worst(self) -> Fraction:
        if self.kind == "uptime":
            return Fraction(self.unavailable + self.unknown_uncovered, self.minutes)
        return self.bad_fraction

    @property
    def uptime(self) -> Fraction:
        return 1 - self.bad_fraction

    @property
    def uptime_worst(self) -> Fraction:
        return 1 - self.bad_fraction_worst

    @property
    def meets_objective(self) -> bool:
        return self.slo.objective.bad_side.holds(self.bad_fraction)

    @property
    def meets_objective_worst(self) -> bool:
        return self.slo.objective.bad_side.holds(self.bad_fraction_worst)

    @property
    def credits(self) -> int:
        return credits_for(self.uptime, self.slo.credits)

    @property
    def credits_worst(self) -> int:
        return credits_for(self.uptime_worst, self.slo.credits)

    @property
    def rolling_credits(self) -> int:
        return sum(m.credits or 0 for m in self.rolling)

    @property
    def rolling_complete(self) -> bool:
        return all(m.credits is not None for m in self.rolling)

    @property
    def termination_right(self) -> bool:
        term = self.slo.credits.termination if self.slo.credits else None
        return term is not None and self.rolling_credits > term.credits_above

    @property
    def claim_deadline(self) -> date | None:
        """Last day a credit request is on time: `claim_within` after the last day of the month."""
        if self.slo.credits is None or self.slo.credits.claim_within is None:
            return None
        last_day = date(self.month.next().year, self.month.next().month, 1) - timedelta(days=1)
        return last_day + timedelta(days=self.slo.credits.claim_within // 1440)


def credits_for(uptime: Fraction, credits: Credits | None) -> int:
    """The credits of the lowest tier reached (tiers replace each other, they do not add up)."""
    if credits is None:
        return 0
    return max((t.credits for t in credits.tiers if t.when.holds(uptime)), default=0)


def rolling_months(month: Month, within_minutes: int, tz_name: str) -> list[Month]:
    """Months whose credits count in the 90-day period ending when `month` ends, newest first.

    Credits are awarded when a month closes (its Monthly Uptime Percentage exists only then), so a month
    counts when its end lies in (end - 90 days, end], days counted on the contract's calendar.
    """
    tz = zone(tz_name)
    end = month_period(month, tz).end
    first_day = datetime.fromtimestamp(end, tz).date() - timedelta(days=within_minutes // 1440)
    window_start = int(datetime.combine(first_day, datetime.min.time(), tz).timestamp())
    out, m = [], month
    while month_period(m, tz).end > window_start:
        out.append(m)
        m = Month(m.year - 1, 12) if m.month == 1 else Month(m.year, m.month - 1)
    return out


def _covers(intervals: list[tuple[int, int]], minute: int) -> bool:
    return any(s <= minute < e for s, e in intervals)


def compute(
    spec: Spec,
    slo: SLO,
    month: Month,
    measured: SloMinutes,
    verdicts: list[Verdict],
    entries: list[Entry],
    closed: bool,
) -> SloReport:
    report = SloReport(spec, slo, month, measured.period, measured, closed)
    if slo.sli.kind != "uptime":
        report.unknown = report.minutes - measured.evaluated
        _days(report)
        return report
    p = measured.period
    windows = [(v, v.window) for v in verdicts]
    accepted = [(w.start, w.end) for v, w in windows if v.accepted]
    ledger = [(e.start, e.end) for e in entries]
    per_window: dict[str, int] = {}
    per_entry: dict[str, int] = {}
    for m, count in sorted(measured.bad.items()):
        # A merged evaluation (count 2) counted this minute and the one before it.
        for k in range(count):
            mm = m - 60 * k
            if not p.start <= mm < p.end:
                continue
            cause = _cause(mm, accepted, measured.external_down, ledger)
            report.minute_class[mm] = cause or "unavailable"
            if cause:
                report.excluded[cause] += 1
                _attribute(mm, cause, windows, entries, per_window, per_entry)
            else:
                report.unavailable += 1
    report.unknown = report.minutes - measured.total_events
    covered = 0
    for m in sorted(measured.unknown):
        if m in report.minute_class or not p.start <= m < p.end:
            continue
        report.minute_class[m] = "unknown"
        if _covers(accepted, m) or m in measured.external_down or _covers(ledger, m):
            covered += 1
    report.unknown_uncovered = max(report.unknown - covered, 0)
    overlaps = lambda a, b: a < p.end and b > p.start  # noqa: E731
    report.windows = [(v, per_window.get(v.window.id, 0)) for v in verdicts if overlaps(v.window.start, v.window.end)]
    report.entries = [(e, per_entry.get(e.id, 0)) for e in entries if overlaps(e.start, e.end)]
    _days(report)
    return report


def _cause(m: int, accepted, external: set[int], ledger) -> str | None:
    if _covers(accepted, m):
        return "maintenance"
    if m in external:
        return "external"
    if _covers(ledger, m):
        return "ledger"
    return None


def _attribute(m: int, cause: str, windows, entries: list[Entry], per_window, per_entry) -> None:
    if cause == "maintenance":
        w = next(w for v, w in windows if v.accepted and w.start <= m < w.end)
        per_window[w.id] = per_window.get(w.id, 0) + 1
    elif cause == "ledger":
        e = next(e for e in entries if e.start <= m < e.end)
        per_entry[e.id] = per_entry.get(e.id, 0) + 1


def _days(report: SloReport) -> None:
    """Per local day of the month (23, 24 or 25 hours long): minutes and how they were classified."""
    tz = zone(report.spec.calendar.timezone)
    p = report.period
    first = datetime.fromtimestamp(p.start, tz).date()
    starts = []
    day = first
    while True:
        t = int(datetime.combine(day, datetime.min.time(), tz).timestamp())
        if t >= p.end:
            break
        starts.append((day, max(t, p.start)))
        day += timedelta(days=1)
    bounds = [s for _, s in starts] + [p.end]
    report.days = [Day(d, (bounds[i + 1] - bounds[i]) // 60) for i, (d, _) in enumerate(starts)]
    for m, cls in report.minute_class.items():
        i = bisect.bisect_right(bounds, m) - 1
        target = report.days[i]
        if cls == "unavailable":
            target.unavailable += 1
        elif cls == "unknown":
            target.unknown += 1
        else:
            target.excluded += 1


def runs(minute_class: dict[int, str]) -> list[tuple[int, int, str]]:
    """Consecutive minutes of one class as [from, to) runs, in time order."""
    out: list[list] = []
    for m in sorted(minute_class):
        cls = minute_class[m]
        if out and out[-1][1] == m and out[-1][2] == cls:
            out[-1][1] = m + 60
        else:
            out.append([m, m + 60, cls])
    return [(a, b, c) for a, b, c in out]
