"""promtool unit tests generated next to the rules: every alert must stay quiet, then fire at the minute
the reference (`slakit.rules.reference`) predicts, then resolve; recorded totals are checked as integers.

promtool runs tests from the Unix epoch; the month-boundary tables always hold 1969-12..1970-02, so
these tests run the production rule files unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from slakit.rules import generator as gen
from slakit.rules import sli as minute
from slakit.rules.files import META, rule_path, slo_file_stem
from slakit.rules.model import Rule
from slakit.rules.periods import GROUP as PERIODS_GROUP
from slakit.rules.reference import Expectations, Series, Timeline, ratio_timeline, uptime_timeline
from slakit.rules.render import HEADER, dump_yaml
from slakit.spec.model import SLO, Spec

HISTORY = 3 * 1440 + 60  # three days and an hour of clean history before any incident
MAX_PATTERN_MINUTES = 3000
RATIO_TRAFFIC = 10_000  # events a minute in ratio scenarios
_EQ = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


@dataclass
class Case:
    """One promtool test case: input series, and checks at chosen minutes."""

    name: str
    series: list[Series]
    minutes: int
    alerts: list[dict[str, Any]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "interval": "1m",
            "input_series": [{"series": _series_text(s.labels), "values": compress(s.values)} for s in self.series],
        }
        if self.alerts:
            out["alert_rule_test"] = sorted(self.alerts, key=lambda a: (_minutes(a["eval_time"]), a["alertname"]))
        if self.values:
            out["promql_expr_test"] = sorted(self.values, key=lambda v: (_minutes(v["eval_time"]), v["expr"]))
        return out


def _minutes(text: str) -> int:
    return int(text.removesuffix("m"))


def _series_text(labels: dict[str, str]) -> str:
    name = labels["__name__"]
    rest = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
    return f"{name}{{{rest}}}"


def compress(values: list[int | None]) -> str:
    """promtool's expanding notation: runs with a constant step become `a+bxn`."""
    tokens, i = [], 0
    while i < len(values):
        if values[i] is None:
            tokens.append("_")
            i += 1
            continue
        j = i + 1
        step = values[j] - values[i] if j < len(values) and values[j] is not None else 0
        while j < len(values) and values[j] is not None and values[j] - values[j - 1] == step:
            j += 1
        count = j - i - 1
        if count >= 2:
            sign = "+" if step >= 0 else "-"
            tokens.append(f"{values[i]}{sign}{abs(step)}x{count}")
        else:
            tokens.extend(str(v) for v in values[i:j])
        i = j
    return " ".join(tokens)


# --- scenarios -------------------------------------------------------------------------------------


def minute_counters(labels: dict[str, str], outcomes: str) -> list[Series]:
    """Exporter counters for a per-minute outcome string: u up, d down, . no probe, _ exporter gone.

    The sample at minute k holds the minutes closed before k; `_` drops the sample at the minute's end.
    """
    series = []
    for outcome, char in (("up", "u"), ("down", "d")):
        values: list[int | None] = [0]
        count = 0
        for c in outcomes:
            count += c == char
            values.append(None if c == "_" else count)
        series.append(Series({**labels, "outcome": outcome}, values))
    return series


def _matchers(sel: str) -> dict[str, str]:
    name = sel.split("{", 1)[0]
    body = sel[len(name) :]
    labels = {"__name__": name} if name else {}
    labels.update({k: v for k, v in _EQ.findall(body)})
    return labels


def _matches(labels: dict[str, str], sel: str) -> bool:
    return all(labels.get(k) == v for k, v in _matchers(sel).items())


class Scenario:
    """Build input series and a reference timeline for one SLO."""

    def __init__(self, spec: Spec, slo: SLO) -> None:
        self.spec, self.slo = spec, slo

    def everywhere(self, outcomes: str) -> dict[str, str]:
        """The same minutes seen by as many locations as the quorum needs."""
        quorum = self.slo.sli.uptime.quorum
        return {"": outcomes} if quorum == 1 else {f"loc{i + 1}": outcomes for i in range(quorum)}

    def uptime(self, outcomes: dict[str, str]) -> tuple[list[Series], Timeline, int]:
        sli = self.slo.sli.uptime
        base = {
            "__name__": sli.metric,
            "service": sli.probe_service or self.spec.service,
            "probe": sli.probes[0],
        }
        series = []
        for location, text in outcomes.items():
            labels = {**base, "location": location} if location else base
            series += minute_counters(labels, text)
        minutes = max(len(t) for t in outcomes.values()) + 3
        for s in series:
            s.values += [s.values[-1]] * (minutes + 1 - len(s.values))
        timeline = uptime_timeline(series, sli.quorum, minutes, self.spec.periods)
        return series, timeline, minutes

    def ratio(self, events: list[tuple[int, int, int]]) -> tuple[list[Series], Timeline, int]:
        """events per minute: (good, bad from the first error source, bad from the last error source)."""
        sli = self.slo.sli.ratio
        error_labels = [_matchers(sel) for sel in sli.errors]
        good = _matchers(sli.total[0])
        for errors in error_labels:
            for key, value in errors.items():
                if key not in good and key != "__name__":
                    good[key] = "slakit-test-good" if value != "slakit-test-good" else "good"
        sources = [good, error_labels[0], error_labels[-1]]
        minutes = len(events) + 3
        counters: dict[str, list[int]] = {}
        labelsets: dict[str, dict[str, str]] = {}
        for column, labels in enumerate(sources):
            key = _series_text(labels)
            labelsets[key] = labels
            values = counters.setdefault(key, [0] * (minutes + 1))
            running = 0
            for k in range(1, minutes + 1):
                if k - 1 < len(events):
                    running += events[k - 1][column]
                values[k] += running
        series = [Series(labelsets[k], v) for k, v in counters.items()]
        # A series matched by two selectors counts twice, as PromQL's sum of the selectors does.
        errors_weighted = [s for sel in sli.errors for s in series if _matches(s.labels, sel)]
        total_weighted = [s for sel in sli.total for s in series if _matches(s.labels, sel)]
        assert errors_weighted and total_weighted, "the scenario's series must match the SLI's selectors"
        return series, ratio_timeline(errors_weighted, total_weighted, minutes, self.spec.periods), minutes


# --- checks ----------------------------------------------------------------------------------------


def _alert_rules(spec: Spec, slo: SLO) -> list[Rule]:
    return [r for g in gen.slo_groups(spec, slo) for r in g.rules if r.alert]


def _alert(rules: list[Rule], name: str, **labels: str) -> Rule:
    return next(r for r in rules if r.alert == name and all(r.labels.get(k) == v for k, v in labels.items()))


class Checks:
    """Turns reference predictions into promtool assertions around each change."""

    def __init__(self, spec: Spec, slo: SLO, case: Case, expect: Expectations) -> None:
        self.spec, self.slo, self.case, self.expect = spec, slo, case, expect
        self.rules = _alert_rules(spec, slo)
        self.labels = spec.slo_labels(slo)

    def alert_at(self, t: int, name: str, instances: list[dict[str, str]]) -> None:
        exp = []
        for extra in instances:
            match = {k: v for k, v in extra.items() if k in ("severity", "budget_spent", "credits")}
            rule = _alert(self.rules, name, **match)
            exp.append(
                {
                    "exp_labels": dict(sorted({**self.labels, **extra}.items())),
                    "exp_annotations": rule.annotations,
                }
            )
        entry = {"eval_time": f"{t}m", "alertname": name, "exp_alerts": exp}
        if entry not in self.case.alerts:
            self.case.alerts.append(entry)

    def transitions(self, name: str, state: Callable[[int], list[dict[str, str]]], start: int, limit: int = 6):
        """Assert the state just before and at each minute where it changes (up to `limit` changes)."""
        previous = state(start)
        self.alert_at(start, name, previous)
        changes = 0
        for t in range(start + 1, self.case.minutes + 1):
            current = state(t)
            if current != previous:
                self.alert_at(t - 1, name, previous)
                self.alert_at(t, name, current)
                changes += 1
                if changes >= limit:
                    return
            previous = current

    def burn(self, start: int) -> None:
        self.transitions(
            "SlakitErrorBudgetBurn", lambda t: [{"severity": s} for s in self.expect.burn_firing(t)], start
        )

    def value(self, t: int, metric: str, value: int | float | None, **extra: str) -> None:
        labels = dict(sorted({**self.labels, **extra}.items()))
        sel = minute.slo_selector(metric, self.spec, self.slo)
        samples = [] if value is None else [{"labels": _series_text({"__name__": metric, **labels}), "value": value}]
        self.case.values.append({"expr": sel, "eval_time": f"{t}m", "exp_samples": samples})

    def windows(self, t: int) -> None:
        for w in sorted({w for tier in self.slo.tiers for w in (tier.long, tier.short)}):
            fast = any(tier.severity == "page" and w in (tier.long, tier.short) for tier in self.slo.tiers)
            at = t if fast else self.expect.slow_eval(t)
            bad, total, samples = self.expect.timeline.window(at, w)
            if samples:
                self.value(t, gen.bad_window(w), bad)
                self.value(t, gen.total_window(w), total)


def _period_label(expect: Expectations, t: int) -> dict[str, str]:
    period = expect.timeline.period_of(expect.slow_eval(t))
    return {"period": period.label if expect.slo.period.calendar else "rolling"}


def outage_case(spec: Spec, slo: SLO) -> Case:
    """A total outage after three days of clean history: page at the workbook minute, then recovery."""
    longest_to_fire = max(
        (int(t.burn_factor(slo.period.nominal_minutes) * slo.objective.budget * t.long) + 1 for t in slo.tiers),
        default=10,
    )
    outage = longest_to_fire + 5
    recovery = max((t.short for t in slo.tiers), default=30) + 10
    scenario = Scenario(spec, slo)
    if slo.sli.kind == "uptime":
        series, timeline, minutes = scenario.uptime(scenario.everywhere("u" * HISTORY + "d" * outage + "u" * recovery))
    else:
        events = [(100, 0, 0)] * HISTORY + [(0, 50, 50)] * outage + [(100, 0, 0)] * recovery
        series, timeline, minutes = scenario.ratio(events)
    case = Case(f"{spec.service}/{slo.name}: total outage of {outage} minutes after clean history", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    checks.burn(HISTORY - 5)
    first_page = expect.first(lambda t: "page" in expect.burn_firing(t), HISTORY, minutes)
    if first_page is not None:
        checks.windows(first_page)
    return case


def pattern_case(spec: Spec, slo: SLO, severity: str) -> Case | None:
    """Bad minutes (or errors) at a steady rate just above one tier's threshold: that severity fires.

    Among the tiers of the severity, the one whose scenario is longest while still short enough for
    promtool is chosen, so the slower tiers are proven too (the fastest one is proven by the outage).
    """
    budget = slo.objective.budget
    nominal = slo.period.nominal_minutes
    page_limits = [t.burn_factor(nominal) * budget for t in slo.tiers if t.severity == "page"]
    best = None
    for tier in (t for t in slo.tiers if t.severity == severity):
        limit = tier.burn_factor(nominal) * budget
        if limit >= 1:
            continue
        if slo.sli.kind == "uptime":
            every = int(1 / limit)  # one bad minute in `every`: a rate just above the limit
            if Fraction(1, every) <= limit:
                every -= 1
            rate = Fraction(1, max(every, 1))
            length = (int(limit * tier.long) + 2) * every + tier.short
        else:
            every = int(limit * RATIO_TRAFFIC) + 1  # errors per minute out of RATIO_TRAFFIC events
            rate = Fraction(every, RATIO_TRAFFIC)
            length = tier.long + tier.short
        if every < 1 or (severity == "ticket" and page_limits and rate >= min(page_limits)):
            continue
        if length <= MAX_PATTERN_MINUTES and (best is None or length > best[0]):
            best = (length, every, tier)
    if best is None:
        return None
    length, every, tier = best
    scenario = Scenario(spec, slo)
    # The outage case has the full three days; here one long window of history is enough to fill it.
    history = tier.long + 60
    if slo.sli.kind == "uptime":
        text = "u" * history + ("u" * (every - 1) + "d") * (length // every + 1)
        series, timeline, minutes = scenario.uptime(scenario.everywhere(text))
        what = f"one bad minute in {every}"
    else:
        clean = [(RATIO_TRAFFIC, 0, 0)] * history
        steady = [(RATIO_TRAFFIC - every, every, 0)] * length
        series, timeline, minutes = scenario.ratio(clean + steady)
        what = f"{every} errors in {RATIO_TRAFFIC} events a minute"
    case = Case(f"{spec.service}/{slo.name}: {what} fires the {window_label(tier)} {severity} tier", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    checks.burn(history)
    first = expect.first(lambda t: severity in expect.burn_firing(t), history, minutes)
    if first is not None:
        checks.windows(first)
    return case


def window_label(tier) -> str:
    return f"{gen.window_name(tier.long)}/{gen.window_name(tier.short)}"


def budget_case(spec: Spec, slo: SLO) -> Case:
    """A month's budget spent minute by minute: shares, breach, credits and the period's integer totals."""
    scenario = Scenario(spec, slo)
    if slo.sli.kind == "uptime":
        period = spec.periods[1] if slo.period.calendar else None
        n = period.minutes if period else slo.period.rolling
        allowed = gen.allowed_bad(n, slo.objective.budget, slo.objective.strict)
        targets = [allowed + 1]
        if slo.credits:
            targets += [
                gen.credit_threshold(n, t.when.op, t.when.value) + 1
                for t in slo.credits.tiers
                if gen.credit_threshold(n, t.when.op, t.when.value) < MAX_PATTERN_MINUTES
            ]
        down = max(targets) + 2
        start = 400  # in January 1970 (New York's January starts at minute 300 of the epoch)
        text = "u" * start + "." * 20 + "_" * 15 + "u" * 30 + "d" * down + "u" * 20
        series, timeline, minutes = scenario.uptime(scenario.everywhere(text))
    else:
        text = None
        events = [(1000, 0, 0)] * 400 + [(900, 60, 40)] * 30 + [(1000, 0, 0)] * 30
        series, timeline, minutes = scenario.ratio(events)
    case = Case(f"{spec.service}/{slo.name}: error budget of the period spent", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    begin = 300 + 10 if slo.period.calendar else 10

    def spent(t: int) -> list[dict[str, str]]:
        period = _period_label(expect, t)
        return [{"severity": "ticket", "budget_spent": s, **period} for s in expect.budget_spent(t)]

    def breach(t: int) -> list[dict[str, str]]:
        return [{"severity": slo.alerting.breach_severity, **_period_label(expect, t)}] if expect.breached(t) else []

    def near(t: int) -> list[dict[str, str]]:
        period = _period_label(expect, t)
        return [{"severity": "ticket", "credits": str(c), **period} for c in expect.credits_near(t)]

    checks.transitions("SlakitErrorBudgetSpent", spent, begin)
    checks.transitions("SlakitSLOBreached", breach, begin)
    if slo.credits is not None:
        checks.transitions("SlakitCreditTierNear", near, begin)
    # Integer totals of the period at a few minutes, including the end.
    for t in sorted({begin, minutes // 2 - minutes // 2 % 5, minutes - minutes % 5}):
        label = _period_label(expect, t)
        period, bad, known, elapsed = expect.period_totals(t)
        checks.value(t, gen.BAD_PERIOD, bad, **label)
        if slo.sli.kind == "uptime" and period is not None:
            checks.value(t, gen.PERIOD_MINUTES, period.minutes, **label)
        checks.value(t, gen.TOTAL_PERIOD, known, **label)
        if slo.sli.kind == "uptime":
            checks.value(t, gen.UNKNOWN_PERIOD, elapsed - known, **label)
            checks.value(t, gen.ALLOWED, expect.allowed(period, known), **label)
            if slo.credits is not None:
                checks.value(t, gen.CREDITS, expect.credits(t), **label)
        checks.value(t, gen.COMPLIANT, 0 if expect.breached(t) else 1, **label)
    return case


def absent_case(spec: Spec, slo: SLO) -> Case:
    """The exporter disappears: the data-absent alert fires, then clears when minutes flow again."""
    scenario = Scenario(spec, slo)
    series, timeline, minutes = scenario.uptime(scenario.everywhere("u" * 120 + "_" * 40 + "u" * 40))
    case = Case(f"{spec.service}/{slo.name}: exporter gone for 40 minutes", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    state = lambda t: [{"severity": "ticket"}] if expect.absent(t) else []  # noqa: E731
    checks.transitions("SlakitSLODataAbsent", state, 60)
    return case


def low_traffic_case(spec: Spec, slo: SLO) -> Case:
    """Every request fails, but fewer than `min_events` arrive per long window: no burn alert."""
    scenario = Scenario(spec, slo)
    sli = slo.sli.ratio
    per_minute = max(1, sli.min_events // (max(t.long for t in slo.tiers) * 2))
    events = [(1, 0, 0)] * 60 + [(0, per_minute, 0)] * 120
    series, timeline, minutes = scenario.ratio(events)
    case = Case(f"{spec.service}/{slo.name}: all errors below min_events", series, minutes)
    expect = Expectations(spec, slo, timeline)
    Checks(spec, slo, case, expect).burn(30)
    return case


def slo_cases(spec: Spec, slo: SLO) -> list[Case]:
    cases = [outage_case(spec, slo)]
    for severity in ("page", "ticket"):
        case = pattern_case(spec, slo, severity)
        if case is not None:
            cases.append(case)
    cases.append(budget_case(spec, slo))
    if slo.sli.kind == "uptime":
        cases.append(absent_case(spec, slo))
    elif slo.sli.ratio.min_events and slo.tiers:
        cases.append(low_traffic_case(spec, slo))
    return cases


def slo_test_file(spec: Spec, slo: SLO) -> str:
    groups = gen.slo_groups(spec, slo)
    doc = {
        "rule_files": [rule_path(slo_file_stem(spec, slo), "prometheus"), rule_path(META, "prometheus")],
        # promtool evaluates every group at every step of evaluation_interval, whatever its own interval:
        # the five-minute groups run every minute here, and the reference predicts exactly that.
        "evaluation_interval": "1m",
        # Within one minute: month tables, then per-minute rules, then what is built on them.
        "group_eval_order": [PERIODS_GROUP] + [g.name for g in sorted(groups, key=lambda g: g.interval_minutes)],
        "tests": [c.to_dict() for c in slo_cases(spec, slo)],
    }
    return HEADER.format(version=_version(), source=spec.source or spec.service) + dump_yaml(doc)


def period_cases(specs: list[Spec]) -> list[dict[str, Any]]:
    """The month tables hold each month's boundaries and length, computed independently with zoneinfo."""
    from slakit.rules.periods import BEYOND, START, timezone_periods

    cases = []
    for tz, periods in timezone_periods(specs).items():
        rows = [
            {"labels": _series_text({"__name__": START, "period": p.label, "timezone": tz}), "value": p.start}
            for p in periods
        ]
        end = periods[-1].end
        beyond = {"labels": _series_text({"__name__": START, "period": BEYOND, "timezone": tz}), "value": end}
        cases.append(
            {
                "name": f"month boundaries in {tz}",
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [
                    {
                        "expr": f'{START}{{timezone="{tz}"}}',
                        "eval_time": "1m",
                        "exp_samples": [*rows, beyond],
                    },
                ],
            }
        )
    return cases


def meta_test_file(specs: list[Spec]) -> str:
    watchdog = gen.meta_groups()[0].rules[0]
    doc = {
        "rule_files": [rule_path(META, "prometheus")],
        "evaluation_interval": "1m",
        "tests": [
            *period_cases(specs),
            {
                "name": "the watchdog always fires",
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {
                        "eval_time": t,
                        "alertname": "SlakitWatchdog",
                        "exp_alerts": [{"exp_labels": watchdog.labels, "exp_annotations": watchdog.annotations}],
                    }
                    for t in ("0m", "1d")
                ],
            },
        ],
    }
    return HEADER.format(version=_version(), source="slakit") + dump_yaml(doc)


def _version() -> str:
    from slakit import __version__

    return __version__


def test_files(specs: list[Spec]) -> dict[str, str]:
    files = {f"{slo_file_stem(spec, slo)}.test.yml": slo_test_file(spec, slo) for spec in specs for slo in spec.slos}
    files[f"{META}.test.yml"] = meta_test_file(specs)
    return files
