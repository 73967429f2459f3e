"""Rule groups for one SLO: windows, burn rates, period totals, budget, credits and alerts.

Every long aggregate is a sum of the per-minute samples recorded by `slakit.rules.sli`; every
comparison against an objective is made on integers (`bad * q > total * p`), never on float ratios.
The series names are the contract documented in docs/rules.md.
"""

from __future__ import annotations

from fractions import Fraction

from slakit.durations import format_duration
from slakit.rules import sli as minute
from slakit.rules.model import Group, Rule
from slakit.rules.periods import BEYOND
from slakit.rules.promql import exceeds, number, selector, window, window_name
from slakit.spec.model import SLO, BurnRateTier, Spec
from slakit.spec.ratios import ceil_div, format_percent

FAST_INTERVAL = 1
SLOW_INTERVAL = 5
# Warn this long before the generated month-boundary table runs out.
TABLE_WARNING_SECONDS = 60 * 86400
PERIOD_MINUTES = minute.PERIOD_MINUTES
PERIOD_RANGE = "[32d]"  # longer than any calendar month, DST included

BAD_PERIOD = "slakit:slo_events_bad:period"
TOTAL_PERIOD = "slakit:slo_events_total:period"
UNKNOWN_PERIOD = "slakit:slo_minutes_unknown:period"
ALLOWED = "slakit:slo_budget:allowed_events"
REMAINING = "slakit:slo_budget:remaining_ratio"
SLI_PERIOD = "slakit:slo_sli:period"
SLI_WORST = "slakit:slo_sli_worst:period"
COMPLIANT = "slakit:slo_compliant:period"
OBJECTIVE = "slakit:slo_objective:ratio"
CREDIT_TIER = "slakit:slo_credit_tier:min_bad_events"
CREDITS = "slakit:slo_credits:period"


def bad_window(minutes: int) -> str:
    return f"slakit:slo_events_bad:{window_name(minutes)}"


def total_window(minutes: int) -> str:
    return f"slakit:slo_events_total:{window_name(minutes)}"


def burn_rate(minutes: int) -> str:
    return f"slakit:slo_burn_rate:{window_name(minutes)}"


def group_name(spec: Spec, slo: SLO, interval: int) -> str:
    return f"slakit-{spec.service}-{slo.name}-{interval}m"


def slo_groups(spec: Spec, slo: SLO) -> list[Group]:
    fast, slow = _split_windows(slo)
    fast_rules = [*minute.minute_rules(spec, slo), *_window_rules(spec, slo, fast)]
    fast_rules += _burn_alerts(spec, slo, "page")
    slow_rules = [*_window_rules(spec, slo, slow), *_burn_alerts(spec, slo, "ticket")]
    slow_rules += _period_rules(spec, slo) + _budget_alerts(spec, slo)
    return [
        Group(group_name(spec, slo, FAST_INTERVAL), FAST_INTERVAL, fast_rules),
        Group(group_name(spec, slo, SLOW_INTERVAL), SLOW_INTERVAL, slow_rules),
    ]


def spec_groups(spec: Spec) -> list[Group]:
    return [group for slo in spec.slos for group in slo_groups(spec, slo)]


def meta_groups() -> list[Group]:
    watchdog = Rule.alerting(
        "SlakitWatchdog",
        "vector(1)",
        {"severity": "none"},
        {
            "summary": "Always firing: proves the alerting pipeline works end to end",
            "description": "Route this alert to a dead man's switch. If it stops arriving, Prometheus, "
            "its rule evaluation or Alertmanager is broken and no SLO alert can reach anyone.",
        },
    )
    return [Group("slakit-meta", FAST_INTERVAL, [watchdog])]


def _split_windows(slo: SLO) -> tuple[list[int], list[int]]:
    """Windows a page needs are kept fresh every minute; the rest every five minutes."""
    fast = {w for t in slo.tiers if t.severity == "page" for w in (t.long, t.short)}
    slow = {w for t in slo.tiers for w in (t.long, t.short)} - fast
    return sorted(fast), sorted(slow)


def _sel(metric: str, spec: Spec, slo: SLO) -> str:
    return minute.slo_selector(metric, spec, slo)


def _window_rules(spec: Spec, slo: SLO, windows: list[int]) -> list[Rule]:
    rules = []
    labels = spec.slo_labels(slo)
    burn_windows = {w for t in slo.tiers for w in (t.long, t.short)}
    for w in windows:
        for name, source in ((bad_window(w), minute.BAD_1M), (total_window(w), minute.TOTAL_1M)):
            expr = f"sum without (period) (sum_over_time({_sel(source, spec, slo)}{window(w)}))"
            rules.append(Rule.recording(name, expr, labels))
        if w in burn_windows:
            expr = (
                f"{_sel(bad_window(w), spec, slo)}\n/ {_sel(total_window(w), spec, slo)}\n"
                f"/ {number(slo.objective.budget)}"
            )
            rules.append(Rule.recording(burn_rate(w), expr, labels))
    return rules


def _tier_condition(spec: Spec, slo: SLO, tier: BurnRateTier) -> str:
    limit = tier.burn_factor(slo.period.nominal_minutes) * slo.objective.budget
    parts = [
        exceeds(_sel(bad_window(tier.long), spec, slo), _sel(total_window(tier.long), spec, slo), limit),
        exceeds(_sel(bad_window(tier.short), spec, slo), _sel(total_window(tier.short), spec, slo), limit),
    ]
    min_events = slo.sli.ratio.min_events if slo.sli.ratio else 0
    if min_events:
        parts.append(f"{_sel(total_window(tier.long), spec, slo)} >= {min_events}")
    return "(\n  " + "\n  and\n  ".join(parts) + "\n)"


def _burn_alerts(spec: Spec, slo: SLO, severity: str) -> list[Rule]:
    tiers = [t for t in slo.tiers if t.severity == severity]
    if not tiers:
        return []
    conditions = "\nor\n".join(_tier_condition(spec, slo, t) for t in tiers)
    rates = " or ".join(
        f"{number(t.burn_factor(slo.period.nominal_minutes))}× over {window_name(t.long)} and {window_name(t.short)}"
        for t in tiers
    )
    annotations = _annotations(
        spec,
        slo,
        f"{spec.service} {slo.name}: error budget burning too fast ({severity})",
        f"The {slo.name} SLO of {spec.service} ({_objective_text(spec, slo)}) is spending its error budget "
        f"faster than allowed: burn rate above {rates}.",
    )
    labels = {**spec.slo_labels(slo), "severity": severity}
    return [Rule.alerting("SlakitErrorBudgetBurn", conditions, labels, annotations)]


def _objective_text(spec: Spec, slo: SLO) -> str:
    period = (
        f"calendar month in {spec.calendar.timezone}"
        if slo.period.calendar
        else f"rolling {format_duration(slo.period.rolling * 60)}"
    )
    return f"{slo.objective} per {period}"


def _annotations(spec: Spec, slo: SLO, summary: str, description: str) -> dict[str, str]:
    out = {"summary": summary, "description": description}
    if slo.alerting.runbook_url:
        out["runbook_url"] = slo.alerting.runbook_url
    if slo.alerting.dashboard_url:
        out["dashboard_url"] = slo.alerting.dashboard_url
    return out


# --- the compliance period -------------------------------------------------------------------------


def allowed_bad(events: int, budget: Fraction, strict: bool) -> int:
    """Most bad events that still meet the objective over `events` (bad < budget·N when strict)."""
    exact = events * budget
    return ceil_div(exact.numerator, exact.denominator) - 1 if strict else exact.numerator // exact.denominator


def credit_threshold(events: int, when_op: str, when_value: Fraction) -> int:
    """Fewest bad events for which the good fraction satisfies a credit tier's condition."""
    bad_limit = events * (1 - when_value)
    if when_op == "<":  # good < v  <=>  bad > N·(1-v)
        return bad_limit.numerator // bad_limit.denominator + 1
    return ceil_div(bad_limit.numerator, bad_limit.denominator)  # good <= v  <=>  bad >= N·(1-v)


def _period_rules(spec: Spec, slo: SLO) -> list[Rule]:
    labels = spec.slo_labels(slo)
    sel = lambda metric: _sel(metric, spec, slo)  # noqa: E731
    rules = [Rule.recording(OBJECTIVE, f"vector({number(slo.objective.target)})", labels)]
    if slo.period.calendar:
        for name, source in ((BAD_PERIOD, minute.BAD_1M), (TOTAL_PERIOD, minute.TOTAL_1M)):
            expr = f"sum_over_time({sel(source)}{PERIOD_RANGE})\nand on(period) {sel(minute.PERIOD_ELAPSED)}"
            rules.append(Rule.recording(name, expr, labels))
    else:
        rolling = {**labels, "period": "rolling"}
        for name, source in ((BAD_PERIOD, minute.BAD_1M), (TOTAL_PERIOD, minute.TOTAL_1M)):
            expr = f"sum without (period) (sum_over_time({sel(source)}{window(slo.period.rolling)}))"
            rules.append(Rule.recording(name, expr, rolling))
    budget, strict = slo.objective.budget, slo.objective.strict
    if slo.sli.kind == "uptime":
        rules += _uptime_period_rules(spec, slo, labels, budget, strict)
    else:
        rules += _ratio_period_rules(slo, labels, sel, budget, strict)
    return rules


def _at_most(events: str, fraction: Fraction, strict: bool) -> str:
    """PromQL for `allowed_bad`: most bad events below (strict) or at `fraction` of `events`.

    `events * p` is an exact integer in a float; dividing by q rounds correctly, and a quotient that is
    not a whole number is never within rounding distance of one, so ceil/floor are exact.
    """
    scaled = f"{events} * {fraction.numerator} / {fraction.denominator}"
    return f"ceil({scaled}) - 1" if strict else f"floor({scaled})"


def _uptime_period_rules(spec: Spec, slo: SLO, labels, budget: Fraction, strict: bool) -> list[Rule]:
    sel = lambda metric: _sel(metric, spec, slo)  # noqa: E731
    elapsed = sel(minute.PERIOD_ELAPSED) if slo.period.calendar else sel(PERIOD_MINUTES)
    op = "<" if strict else "<="
    rules = [
        Rule.recording(ALLOWED, _at_most(sel(PERIOD_MINUTES), budget, strict), labels),
        Rule.recording(UNKNOWN_PERIOD, f"{elapsed} - {sel(TOTAL_PERIOD)}\nor {elapsed}", labels),
        Rule.recording(SLI_PERIOD, f"1 - {sel(BAD_PERIOD)} / {elapsed}", labels),
        Rule.recording(SLI_WORST, f"1 - ({sel(BAD_PERIOD)} + {sel(UNKNOWN_PERIOD)}) / {elapsed}", labels),
        Rule.recording(
            REMAINING,
            f"1 - {sel(BAD_PERIOD)} / ({sel(PERIOD_MINUTES)} * {budget.numerator} / {budget.denominator})",
            labels,
        ),
        Rule.recording(
            COMPLIANT,
            f"{sel(BAD_PERIOD)} * {budget.denominator} {op} bool {sel(PERIOD_MINUTES)} * {budget.numerator}",
            labels,
        ),
    ]
    if slo.credits is not None:
        rules += _credit_rules(spec, slo, labels)
    return rules


def _credit_rules(spec: Spec, slo: SLO, labels) -> list[Rule]:
    """Per tier, the fewest unavailable minutes that earn it; and the credits earned so far."""
    sel = lambda metric: _sel(metric, spec, slo)  # noqa: E731
    tiers = sorted(slo.credits.tiers, key=lambda t: t.credits)
    rules = []
    for tier in tiers:
        bad_share = 1 - tier.when.value
        scaled = f"{sel(PERIOD_MINUTES)} * {bad_share.numerator} / {bad_share.denominator}"
        # good < v  <=>  bad > N·(1-v): the next whole minute; good <= v  <=>  bad >= N·(1-v).
        expr = f"floor({scaled}) + 1" if tier.when.op == "<" else f"ceil({scaled})"
        rules.append(Rule.recording(CREDIT_TIER, expr, {**labels, "credits": str(tier.credits)}))
    # Credits do not add up across tiers: each tier replaces the one above it, so the period's credits
    # are the sum of the increments of every tier reached.
    steps, previous = [], 0
    for tier in tiers:
        tier_sel = selector(CREDIT_TIER, {"service": spec.service, "slo": slo.name, "credits": str(tier.credits)})
        steps.append(f"({sel(BAD_PERIOD)} >= bool ignoring(credits) {tier_sel}) * {tier.credits - previous}")
        previous = tier.credits
    rules.append(Rule.recording(CREDITS, "\n+ ".join(steps), labels))
    return rules


def _ratio_period_rules(slo: SLO, labels, sel, budget: Fraction, strict: bool) -> list[Rule]:
    bad, total = sel(BAD_PERIOD), sel(TOTAL_PERIOD)
    scaled = f"{total} * {budget.numerator} / {budget.denominator}"
    allowed = _at_most(total, budget, strict)
    compliant = f"{bad} * {budget.denominator} <= bool {total} * {budget.numerator}"
    if strict:  # with no events at all nothing was missed
        compliant = f"({bad} * {budget.denominator} < bool {total} * {budget.numerator}) + ({total} == bool 0)"
    return [
        Rule.recording(ALLOWED, f"clamp_min({allowed}, 0)", labels),
        Rule.recording(SLI_PERIOD, f"1 - {bad} / {total}", labels),
        Rule.recording(REMAINING, f"1 - {bad} / ({scaled})", labels),
        Rule.recording(COMPLIANT, compliant, labels),
    ]


def _budget_alerts(spec: Spec, slo: SLO) -> list[Rule]:
    sel = lambda metric: _sel(metric, spec, slo)  # noqa: E731
    bad = sel(BAD_PERIOD)
    alerting = slo.alerting
    what = _objective_text(spec, slo)
    rules = []
    for share in alerting.budget_spent:
        pct = format_percent(share)
        rules.append(
            Rule.alerting(
                "SlakitErrorBudgetSpent",
                f"{bad} * {share.denominator} >= {sel(ALLOWED)} * {share.numerator}\nand {bad} > 0",
                {**spec.slo_labels(slo), "severity": "ticket", "budget_spent": pct},
                _annotations(
                    spec,
                    slo,
                    f"{spec.service} {slo.name}: {pct} of this period's error budget spent",
                    f"{pct} of the bad events the {slo.name} SLO ({what}) allows this period are spent.",
                ),
            )
        )
    rules.append(
        Rule.alerting(
            "SlakitSLOBreached",
            f"{sel(COMPLIANT)} == 0",
            {**spec.slo_labels(slo), "severity": alerting.breach_severity},
            _annotations(
                spec,
                slo,
                f"{spec.service} {slo.name}: objective missed for this period",
                f"The {slo.name} SLO of {spec.service} ({what}) is missed for the current period.",
            ),
        )
    )
    if slo.credits is not None:
        warn = alerting.credit_warning
        for tier in slo.credits.tiers:
            tier_sel = selector(CREDIT_TIER, {"service": spec.service, "slo": slo.name, "credits": str(tier.credits)})
            rules.append(
                Rule.alerting(
                    "SlakitCreditTierNear",
                    f"{bad} * {warn.denominator} >= ignoring(credits) {tier_sel} * {warn.numerator}\n"
                    f"and {bad} < ignoring(credits) {tier_sel}",
                    {**spec.slo_labels(slo), "severity": "ticket", "credits": str(tier.credits)},
                    _annotations(
                        spec,
                        slo,
                        f"{spec.service} {slo.name}: {tier.credits} service credits within reach",
                        f"Unavailable minutes this period have reached {format_percent(warn)} of the "
                        f"{tier.credits}-credit tier (uptime {tier.when}).",
                    ),
                )
            )
    rules.append(_absent_alert(spec, slo))
    if slo.period.calendar:
        rules.append(_table_alert(spec, slo))
    return rules


def _absent_alert(spec: Spec, slo: SLO) -> Rule:
    minutes = slo.alerting.data_absent_for
    if slo.sli.uptime is not None:
        known = _sel(minute.TOTAL_1M, spec, slo)
        expr = (
            f"sum without (period) (sum_over_time({known}{window(minutes)})) == 0\n"
            f"or absent_over_time({known}[{window_name(minutes)}])"
        )
    else:
        expr = "\nand on() ".join(f"absent_over_time({s}[{window_name(minutes)}])" for s in slo.sli.ratio.total)
    return Rule.alerting(
        "SlakitSLODataAbsent",
        expr,
        {**spec.slo_labels(slo), "severity": "ticket"},
        _annotations(
            spec,
            slo,
            f"{spec.service} {slo.name}: no SLI data for {window_name(minutes)}",
            f"The {slo.name} SLO of {spec.service} has had no data for {window_name(minutes)}: its minutes "
            "count as unknown and its alerts cannot fire. Check the exporter and its scrape job.",
        ),
    )


def _table_alert(spec: Spec, slo: SLO) -> Rule:
    last = spec.periods[-1]
    elapsed = _sel(minute.PERIOD_ELAPSED, spec, slo)
    beyond = selector(minute.PERIOD_ELAPSED, {"service": spec.service, "slo": slo.name, "period": BEYOND})
    expr = (
        f"count(\n  vector(time()) > {last.end - TABLE_WARNING_SECONDS}\n  or {beyond}\n  or absent({elapsed})\n) > 0"
    )
    return Rule.alerting(
        "SlakitPeriodTableExpiring",
        expr,
        {**spec.slo_labels(slo), "severity": "ticket"},
        _annotations(
            spec,
            slo,
            f"{spec.service} {slo.name}: month-boundary table ends {last.label}",
            f"The generated calendar table of {spec.source or spec.service} ends with {last.label} "
            f"({spec.calendar.timezone}). Raise calendar.table_months or table_start and regenerate the "
            "rules; past its end no minute is counted.",
        ),
        for_="10m",
    )
