"""Per-minute SLI rules: each evaluation records one minute's bad and valid events.

Uptime SLIs count minutes the exporter already classified; ratio SLIs count events. Both are recorded
every minute into `slakit:slo_events_bad:1m` and `slakit:slo_events_total:1m`, labelled with the calendar
period of the minute they count, so longer windows and period totals are plain sums of these samples.
"""

from __future__ import annotations

from slakit.rules import maintenance
from slakit.rules.model import Rule
from slakit.rules.periods import start_selector
from slakit.rules.promql import (
    counted_minute,
    counter_increase,
    minute_counter_increase,
    regex_alternatives,
    selector,
)
from slakit.spec.model import SLO, RatioSLI, Spec, UptimeSLI

# An evaluation at T counts the minute starting at floor(T) - LAG: uptime minutes are read one minute
# after they close (see `minute_counter_increase`), ratio events over the minute before T.
UPTIME_LAG_SECONDS = 120
RATIO_LAG_SECONDS = 60

# Labels that tell apart the copies of one series scraped by an HA pair of Prometheus servers.
HA_REPLICA_LABELS = ("prometheus_replica", "replica")

BAD_1M = "slakit:slo_events_bad:1m"
TOTAL_1M = "slakit:slo_events_total:1m"
UNKNOWN_1M = "slakit:slo_minutes_unknown:1m"
PERIOD_ELAPSED = "slakit:slo_period:elapsed_minutes"
PERIOD_MINUTES = "slakit:slo_period:minutes"
LOCATION_DOWN = "slakit:slo_location_down:1m"
LOCATION_REPORTED = "slakit:slo_location_reported:1m"


def slo_selector(metric: str, spec: Spec, slo: SLO) -> str:
    return selector(metric, {"service": spec.service, "slo": slo.name})


def lag_seconds(slo: SLO) -> int:
    return UPTIME_LAG_SECONDS if slo.sli.kind == "uptime" else RATIO_LAG_SECONDS


def minute_rules(spec: Spec, slo: SLO) -> list[Rule]:
    labels = spec.slo_labels(slo)
    rules = period_rules(spec, slo, labels)
    if slo.sli.uptime is not None:
        rules += uptime_rules(spec, slo, slo.sli.uptime, labels)
    else:
        rules += ratio_rules(spec, slo, slo.sli.ratio, labels)
    return rules


def period_rules(spec: Spec, slo: SLO, labels: dict[str, str]) -> list[Rule]:
    """The counted minute's period (label) and index in it (value), and the period's length in minutes."""
    if not slo.period.calendar:
        rolling = {**labels, "period": "rolling"}
        return [
            Rule.recording(PERIOD_ELAPSED, "vector(1)", rolling),
            Rule.recording(PERIOD_MINUTES, f"vector({slo.period.rolling})", rolling),
        ]
    minute = counted_minute(lag_seconds(slo))
    table = start_selector(spec.calendar.timezone)
    current = f"topk(1, {table} <= on() group_left() {minute})"
    following = f"bottomk(1, {table} > on() group_left() {minute})"
    elapsed = f"sum without (timezone) (\n  ({minute} - on() group_right() {current}) / 60 + 1\n)"
    # Minutes up to and including the counted one, plus those from it to the next period's start.
    length = f"{slo_selector(PERIOD_ELAPSED, spec, slo)} - 1\n+ on() group_left() (sum({following}) - {minute}) / 60"
    return [Rule.recording(PERIOD_ELAPSED, elapsed, labels), Rule.recording(PERIOD_MINUTES, length, labels)]


def _with_period(expr: str, spec: Spec, slo: SLO) -> str:
    """Attach the counted minute's `period` label (and drop the sample outside the boundary table).

    Only the freshest period series joins: after a restart or a backfill (no staleness markers), last
    month's series stays visible for the lookback, and a plain join would fail as many-to-many.
    """
    current = f"topk(1, timestamp({slo_selector(PERIOD_ELAPSED, spec, slo)}))"
    return f"(\n  {expr}\n)\n+ on() group_left(period) (0 * {current})"


def uptime_rules(spec: Spec, slo: SLO, sli: UptimeSLI, labels: dict[str, str]) -> list[Rule]:
    probe_labels = {"service": sli.probe_service or spec.service}
    probes = {"probe": regex_alternatives(sli.probes)}
    down = selector(sli.metric, {**probe_labels, "outcome": "down"}, probes)
    reported = selector(sli.metric, probe_labels, {**probes, "outcome": "up|down"})
    per_location = [
        # Per location: the minute is down if any named probe saw it down; duplicates of one series from
        # HA Prometheus pairs or exporter replicas collapse under max().
        Rule.recording(LOCATION_DOWN, f"max by (location) (\n  {minute_counter_increase(down)}\n)", labels),
        Rule.recording(
            LOCATION_REPORTED,
            f"max by (location) (\n  sum without (outcome) (\n    {minute_counter_increase(reported)}\n  )\n)",
            labels,
        ),
    ]
    bad = maintenance.without_planned(
        _quorum(slo_selector(LOCATION_DOWN, spec, slo), sli.quorum), spec, slo, lag_seconds(slo)
    )
    known = _quorum(slo_selector(LOCATION_REPORTED, spec, slo), sli.quorum)
    unknown = (
        f"clamp_min(1 - {slo_selector(TOTAL_1M, spec, slo)}, 0)\nor (0 * {slo_selector(PERIOD_ELAPSED, spec, slo)} + 1)"
    )
    return [
        *per_location,
        Rule.recording(BAD_1M, _with_period(bad, spec, slo), labels),
        Rule.recording(TOTAL_1M, _with_period(known, spec, slo), labels),
        Rule.recording(UNKNOWN_1M, unknown, labels),
        *maintenance.planned_rules(spec, slo, labels, lag_seconds(slo)),
    ]


def _quorum(per_location: str, quorum: int) -> str:
    """Minutes seen by at least `quorum` locations.

    With quorum 1 this is the largest per-location count, which stays exact when a late scrape hands two
    or more minutes to one evaluation. With a larger quorum, locations are counted per minute; merged
    minutes are resolved up to two per evaluation.
    """
    if quorum == 1:
        return f"max({per_location})"
    return f"(sum({per_location} >= bool 1) >= bool {quorum})\n  + (sum({per_location} >= bool 2) >= bool {quorum})"


def ratio_rules(spec: Spec, slo: SLO, sli: RatioSLI, labels: dict[str, str]) -> list[Rule]:
    return [
        Rule.recording(BAD_1M, _with_period(_sum_sources(sli.errors), spec, slo), labels),
        Rule.recording(TOTAL_1M, _with_period(_sum_sources(sli.total), spec, slo), labels),
    ]


def _sum_sources(selectors: list[str]) -> str:
    """Exact events in the last minute, summed over sources; a source without series counts 0."""
    replicas = ", ".join(HA_REPLICA_LABELS)
    parts = [f"(sum(max without ({replicas}) ({counter_increase(sel)})) or vector(0))" for sel in selectors]
    return "\n  + ".join(parts)
