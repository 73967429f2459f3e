"""Prometheus rules for the support SLA: monthly shares of tickets meeting each target, and ticket alerts.

Built on the ticket book's metrics (docs/support.md) and the shared month-boundary table
(`slakit:period:start_timestamp_seconds`, slakit/rules/periods.py) in the spec's calendar time zone:

* 1m group: the minute counted by an evaluation (the one before it) and its `period`; the tickets decided in
  that minute, per priority, target and outcome (reset-aware counter increments, HA copies under `max`).
* 5m group: their sums over the current period, the share met, and the alerts.
"""

from __future__ import annotations

from slakit.rules.model import Group, Rule
from slakit.rules.periods import start_selector
from slakit.rules.promql import counted_minute, counter_increase, selector, window
from slakit.spec.model import Spec
from slakit.spec.ratios import format_percent

LAG_SECONDS = 60
PERIOD_RANGE = "[32d]"  # longer than any calendar month, DST included

ELAPSED = "slakit:support_period:elapsed_minutes"
TICKETS_1M = "slakit:support_tickets:1m"
TICKETS_PERIOD = "slakit:support_tickets:period"
MET_RATIO = "slakit:support_tickets_met:ratio"
BREACH_WINDOW_MINUTES = 60


def support_groups(spec: Spec) -> list[Group]:
    """The support rule groups of one spec (none without a `support:` section)."""
    if spec.support is None:
        return []
    if spec.calendar is None:
        raise ValueError(f"{spec.source or spec.service}: support rules need the spec's 'calendar' (its months)")
    labels = {**spec.labels, "service": spec.service}
    svc = {"service": spec.service}
    minute = counted_minute(LAG_SECONDS)
    table = start_selector(spec.calendar.timezone)
    current = f"topk(1, {table} <= on() group_left() {minute})"
    elapsed = f"sum without (timezone) (\n  ({minute} - on() group_right() {current}) / 60 + 1\n)"
    freshest = f"topk(1, timestamp({selector(ELAPSED, svc)}))"
    decided = (
        f"max by (priority, target, outcome) (\n  {counter_increase(selector('slakit_support_tickets_total', svc))}\n)"
    )
    fast = [
        Rule.recording(ELAPSED, elapsed, labels),
        Rule.recording(TICKETS_1M, f"(\n  {decided}\n)\n+ on() group_left(period) (0 * {freshest})", labels),
    ]
    tickets = lambda **m: selector(TICKETS_PERIOD, {**svc, **m})  # noqa: E731
    slow = [
        Rule.recording(
            TICKETS_PERIOD,
            f"sum_over_time({selector(TICKETS_1M, svc)}{PERIOD_RANGE})\nand on(period) {selector(ELAPSED, svc)}",
            labels,
        ),
        Rule.recording(
            MET_RATIO,
            f"sum without (outcome) ({tickets(outcome='met')})\n/ (sum without (outcome) ({tickets()}) > 0)",
            labels,
        ),
        *_alerts(spec, labels, svc),
    ]
    base = f"slakit-{spec.service}-support"
    return [Group(f"{base}-1m", 1, fast), Group(f"{base}-5m", 5, slow)]


def _alerts(spec: Spec, labels: dict[str, str], svc: dict[str, str]) -> list[Rule]:
    policy = spec.support
    share = format_percent(policy.at_risk)
    gauge = lambda name: f"max by (priority, target) ({selector(name, svc)})"  # noqa: E731
    breached = selector(TICKETS_1M, {**svc, "outcome": "breached"})
    return [
        Rule.alerting(
            "SlakitSupportTicketAtRisk",
            f"{gauge('slakit_support_tickets_at_risk')} > 0",
            {**labels, "severity": "ticket"},
            {
                "summary": f"{spec.service}: a {{{{ $labels.priority }}}} support ticket is at risk",
                "description": (
                    f"An open {{{{ $labels.priority }}}} ticket of {spec.service} has less than {share} of its "
                    "{{ $labels.target }} allowance left."
                ),
            },
        ),
        Rule.alerting(
            "SlakitSupportTicketBreached",
            f"{gauge('slakit_support_tickets_overdue')} > 0\n"
            f"or sum by (priority, target) (sum_over_time({breached}{window(BREACH_WINDOW_MINUTES)})) > 0",
            {**labels, "severity": "page"},
            {
                "summary": f"{spec.service}: a {{{{ $labels.priority }}}} support ticket breached its target",
                "description": (
                    f"A {{{{ $labels.priority }}}} ticket of {spec.service} is past its {{{{ $labels.target }}}} "
                    "deadline, or was answered or resolved after it within the last hour."
                ),
            },
        ),
    ]
