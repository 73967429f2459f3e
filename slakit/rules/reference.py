"""A plain-Python reference of what the generated rules must compute, minute by minute.

It knows nothing of PromQL: it reads a scenario's samples the way Prometheus looks them up (latest
sample within the 5-minute lookback), counts minutes and events, and applies the SRE Workbook's
multiwindow conditions and the spec's integer budget arithmetic. The generated promtool tests assert
that the rules agree with it at the minutes where an answer changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from slakit.rules.generator import allowed_bad, credit_threshold
from slakit.spec.calendar import Period
from slakit.spec.model import SLO, Spec
from slakit.spec.ratios import format_percent

LOOKBACK_MINUTES = 5  # Prometheus' default lookback delta; scenarios avoid gaps of exactly this length


@dataclass
class Series:
    """Samples at each minute boundary k = 0..n; None where the sample is missing."""

    labels: dict[str, str]
    values: list[int | None]

    def at(self, minute: int) -> int | None:
        """The value an instant query at `minute` sees (latest sample within the lookback)."""
        for k in range(min(minute, len(self.values) - 1), minute - LOOKBACK_MINUTES, -1):
            if k >= 0 and self.values[k] is not None:
                return self.values[k]
        return None


def increment(series: Series, now: int, before: int) -> int | None:
    a, b = series.at(now), series.at(before)
    if a is None or b is None:
        return None
    return a - b if a >= b else a


@dataclass
class Minute:
    """What one evaluation of the per-minute rules records (None: no sample)."""

    bad: int | None
    total: int | None


@dataclass
class Timeline:
    """Per-minute recorded values, indexed by evaluation minute, with prefix sums for fast windows."""

    minutes: list[Minute]
    lag: int  # evaluation T counts the minute T - lag
    periods: list[Period] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._prefix = [(0, 0, 0)]
        for m in self.minutes:
            bad, total, samples = self._prefix[-1]
            if m.total is not None:
                bad, total, samples = bad + (m.bad or 0), total + m.total, samples + 1
            self._prefix.append((bad, total, samples))

    def _sum(self, first: int, last: int) -> tuple[int, int, int]:
        first, last = max(first, 0), min(last, len(self.minutes) - 1)
        if last < first:
            return 0, 0, 0
        hi, lo = self._prefix[last + 1], self._prefix[first]
        return hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]

    def window(self, t: int, width: int) -> tuple[int, int, int]:
        """(bad, total, samples) over the evaluations in (t - width, t]."""
        return self._sum(t - width + 1, t)

    def period_of(self, t: int) -> Period | None:
        minute_start = (t - self.lag) * 60
        return next((p for p in self.periods if p.start <= minute_start < p.end), None)

    def period_sum(self, t: int) -> tuple[Period | None, int, int]:
        """(period, bad, total) over evaluations up to t that counted a minute of t's period."""
        period = self.period_of(t)
        if period is None:
            return None, 0, 0
        first = period.start // 60 + self.lag  # the evaluation that counts the period's first minute
        bad, total, _ = self._sum(first, t)
        return period, bad, total


def uptime_timeline(series: Sequence[Series], quorum: int, minutes: int, periods: list[Period]) -> Timeline:
    """Minutes counted per evaluation from exporter counters (`outcome` up/down, optional `location`)."""
    out = []
    for t in range(minutes + 1):
        per_location: dict[str, list[int]] = {}
        seen: set[str] = set()
        for s in series:
            inc = increment(s, t - 1, t - 2)
            if inc is None:
                continue
            location = s.labels.get("location", "")
            seen.add(location)
            down, reported = per_location.setdefault(location, [0, 0])
            per_location[location] = [
                max(down, inc if s.labels["outcome"] == "down" else 0),
                reported + inc,  # one series per outcome: summed, then max over probes (one probe here)
            ]
        if not seen:
            out.append(Minute(None, None))
            continue
        downs = [v[0] for v in per_location.values()]
        reports = [v[1] for v in per_location.values()]
        if quorum == 1:
            out.append(Minute(max(downs), max(reports)))
        else:
            level = lambda values, n: int(sum(v >= n for v in values) >= quorum)  # noqa: E731
            out.append(Minute(level(downs, 1) + level(downs, 2), level(reports, 1) + level(reports, 2)))
    return Timeline(out, lag=2, periods=periods)


def ratio_timeline(errors: Sequence[Series], total: Sequence[Series], minutes: int, periods) -> Timeline:
    out = []
    for t in range(minutes + 1):
        incs_bad = [increment(s, t, t - 1) for s in errors]
        incs_total = [increment(s, t, t - 1) for s in total]
        out.append(Minute(sum(i for i in incs_bad if i), sum(i for i in incs_total if i)))
    return Timeline(out, lag=1, periods=periods)


class Expectations:
    """What each alert and recorded series should show at evaluation time t."""

    def __init__(self, spec: Spec, slo: SLO, timeline: Timeline) -> None:
        self.spec, self.slo, self.timeline = spec, slo, timeline
        self.budget = slo.objective.budget

    def tier_fires(self, t: int, severity: str) -> bool:
        fired = False
        for tier in self.slo.tiers:
            if tier.severity != severity:
                continue
            limit = tier.burn_factor(self.slo.period.nominal_minutes) * self.budget
            bad_l, total_l, _ = self.timeline.window(t, tier.long)
            bad_s, total_s, _ = self.timeline.window(t, tier.short)
            min_events = self.slo.sli.ratio.min_events if self.slo.sli.ratio else 0
            if Fraction(bad_l) > limit * total_l and Fraction(bad_s) > limit * total_s and total_l >= min_events:
                fired = True
        return fired

    # promtool evaluates every group every minute; Prometheus runs the slow groups every five minutes.
    slow_interval = 1

    def slow_eval(self, t: int) -> int:
        return t - t % self.slow_interval

    def burn_firing(self, t: int) -> list[str]:
        """Severities of SlakitErrorBudgetBurn firing at t (page: 1m group, ticket: 5m group)."""
        out = []
        if self.tier_fires(t, "page"):
            out.append("page")
        if self.tier_fires(self.slow_eval(t), "ticket"):
            out.append("ticket")
        return out

    def period_totals(self, t: int) -> tuple[Period | None, int, int, int]:
        """(period, bad, known, elapsed) of the period current at slow evaluation t."""
        t = self.slow_eval(t)
        if self.slo.period.rolling:
            bad, total, _ = self.timeline.window(t, self.slo.period.rolling)
            return None, bad, total, self.slo.period.rolling
        period, bad, total = self.timeline.period_sum(t)
        elapsed = (t - self.timeline.lag) - period.start // 60 + 1 if period else 0
        return period, bad, total, elapsed

    def minutes(self, period: Period | None) -> int:
        """Minutes in the period: a calendar month, or the rolling window."""
        return period.minutes if period is not None else self.slo.period.rolling

    def events(self, period: Period | None, total: int) -> int:
        """What the objective is a fraction of: the period's minutes (uptime) or its events (ratio)."""
        return self.minutes(period) if self.slo.sli.kind == "uptime" else total

    def allowed(self, period: Period | None, total: int) -> int:
        return max(allowed_bad(self.events(period, total), self.budget, self.slo.objective.strict), 0)

    def budget_spent(self, t: int) -> list[str]:
        period, bad, total, _ = self.period_totals(t)
        allowed = self.allowed(period, total)
        return [
            format_percent(share)
            for share in self.slo.alerting.budget_spent
            if bad > 0 and bad * share.denominator >= allowed * share.numerator
        ]

    def breached(self, t: int) -> bool:
        period, bad, total, _ = self.period_totals(t)
        n = self.events(period, total)
        if self.slo.objective.strict:
            return not (bad < n * self.budget) and not (self.slo.sli.kind == "ratio" and total == 0)
        return bad > n * self.budget

    def credits(self, t: int) -> int:
        period, bad, _, _ = self.period_totals(t)
        earned = 0
        for tier in self.slo.credits.tiers:
            if bad >= credit_threshold(self.minutes(period), tier.when.op, tier.when.value):
                earned = max(earned, tier.credits)
        return earned

    def credits_near(self, t: int) -> list[int]:
        period, bad, _, _ = self.period_totals(t)
        warn = self.slo.alerting.credit_warning
        out = []
        for tier in self.slo.credits.tiers:
            threshold = credit_threshold(self.minutes(period), tier.when.op, tier.when.value)
            if bad * warn.denominator >= threshold * warn.numerator and bad < threshold:
                out.append(tier.credits)
        return out

    def absent(self, t: int) -> bool:
        """No known minute (uptime) in the data-absent window ending at the 5m evaluation."""
        t = self.slow_eval(t)
        _, total, samples = self.timeline.window(t, self.slo.alerting.data_absent_for)
        return samples == 0 or total == 0

    def first(self, predicate, start: int, end: int) -> int | None:
        return next((t for t in range(start, end + 1) if predicate(t)), None)
