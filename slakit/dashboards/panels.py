"""Panels of one SLO or service, each reading the recorded series of docs/rules.md (or exporter metrics).

Period panels read the `period`-labelled series, which restart at every month boundary of the contract's
time zone: a month-to-date or burn-down panel needs no long range or subquery.
"""

from __future__ import annotations

from fractions import Fraction

from slakit.dashboards.grafana import Json, stat, thresholds, timeseries
from slakit.durations import format_duration
from slakit.rules import generator as gen
from slakit.rules import sli as minute
from slakit.rules.maintenance import PLANNED_1M
from slakit.rules.promql import quote, regex_alternatives, selector, window_name
from slakit.spec.model import SLO, Spec
from slakit.spec.ratios import format_number

RATE_INTERVAL = "$__rate_interval"

GOOD, WARN, BAD = "green", "orange", "red"


def sel(metric: str, spec: Spec, slo: SLO, **extra: str) -> str:
    return selector(metric, {"service": spec.service, "slo": slo.name, **extra})


def uptime(slo: SLO) -> bool:
    return slo.sli.kind == "uptime"


def period_name(spec: Spec, slo: SLO) -> str:
    if slo.period.calendar:
        return "this month"
    return f"rolling {format_duration(slo.period.rolling * 60)}"


def objective_text(spec: Spec, slo: SLO) -> str:
    where = f"calendar month in {spec.calendar.timezone}" if slo.period.calendar else period_name(spec, slo)
    what = "uptime" if uptime(slo) else "events"
    return f"{what} {slo.objective} per {where}"


def alerts_firing(spec: Spec, slo: SLO) -> str:
    labels = {"alertstate": "firing", "service": spec.service, "slo": slo.name}
    firing = selector("ALERTS", labels, {"severity": "page|ticket"})  # not SlakitPlannedDowntime (none)
    return f"count({firing}) or vector(0)"


def slo_stats(spec: Spec, slo: SLO, detail_uid: str | None = None) -> list[Json]:
    """Month-to-date state of one SLO: 8 stat panels of width 3 (one grid line)."""
    when = period_name(spec, slo)
    budget = float(slo.objective.budget)
    target = float(slo.objective.target)
    if uptime(slo):
        sli = stat(
            f"Uptime {when}",
            sel(gen.SLI_PERIOD, spec, slo),
            unit="percentunit",
            decimals=3,
            steps=thresholds((None, BAD), (target, GOOD)),
            description=f"`{gen.SLI_PERIOD}`: 1 - unavailable / elapsed minutes (unknown minutes count as good). "
            f"Objective: {objective_text(spec, slo)}.",
        )
        goal = stat(
            "Target",
            sel(gen.OBJECTIVE, spec, slo),
            unit="percentunit",
            decimals=3,
            description=f"`{gen.OBJECTIVE}`: uptime at the objective's boundary ({slo.objective}).",
        )
    else:
        sli = stat(
            f"Error rate {when}",
            f"1 - {sel(gen.SLI_PERIOD, spec, slo)}",
            unit="percentunit",
            decimals=4,
            steps=thresholds((None, GOOD), (budget, BAD)),
            description=f"`1 - {gen.SLI_PERIOD}`: bad events / all events. Objective: {objective_text(spec, slo)}.",
        )
        goal = stat(
            "Error rate target",
            f"1 - {sel(gen.OBJECTIVE, spec, slo)}",
            unit="percentunit",
            decimals=4,
            description=f"`1 - {gen.OBJECTIVE}`: the error budget ({slo.objective}).",
        )
    if detail_uid:
        sli["links"] = [
            {"title": f"{spec.service} details", "url": f"/d/{detail_uid}?${{__url_time_range}}&${{__all_variables}}"}
        ]
    bad_name = "Unavailable minutes" if uptime(slo) else "Bad events"
    panels = [
        sli,
        goal,
        stat(
            "Error budget remaining",
            sel(gen.REMAINING, spec, slo),
            unit="percentunit",
            decimals=1,
            steps=thresholds((None, BAD), (0, WARN), (0.25, GOOD)),
            description=f"`{gen.REMAINING}`: 1 - bad / (period × budget); below 0 the budget is overspent.",
        ),
        stat(
            f"{bad_name} {when}",
            sel(gen.BAD_PERIOD, spec, slo),
            decimals=0,
            description=f"`{gen.BAD_PERIOD}`",
        ),
        stat(
            f"{bad_name} allowed",
            sel(gen.ALLOWED, spec, slo),
            decimals=0,
            description=f"`{gen.ALLOWED}`: most bad "
            + ("minutes in the whole period" if uptime(slo) else "events among this period's events so far")
            + " that still meet the objective.",
        ),
    ]
    if uptime(slo):
        panels.append(
            stat(
                f"Unknown minutes {when}",
                sel(gen.UNKNOWN_PERIOD, spec, slo),
                decimals=0,
                steps=thresholds((None, GOOD), (1, WARN)),
                description=f"`{gen.UNKNOWN_PERIOD}`: elapsed minutes no location reported (exporter down or "
                "not scraped); counted as good by the uptime above.",
            )
        )
    else:
        panels.append(
            stat(f"Events {when}", sel(gen.TOTAL_PERIOD, spec, slo), decimals=0, description=f"`{gen.TOTAL_PERIOD}`")
        )
    if slo.credits is not None:
        tiers = ", ".join(f"{t.credits} when uptime {t.when}" for t in slo.credits.tiers)
        lowest = min(t.credits for t in slo.credits.tiers)
        panels.append(
            stat(
                f"Service credits {when}",
                sel(gen.CREDITS, spec, slo),
                decimals=0,
                steps=thresholds((None, GOOD), (lowest, BAD)),
                description=f"`{gen.CREDITS}`: credits earned so far (tiers replace each other): {tiers}.",
            )
        )
    else:
        panels.append(
            stat(
                "Objective",
                sel(gen.COMPLIANT, spec, slo),
                mappings=[
                    {
                        "type": "value",
                        "options": {
                            "0": {"color": BAD, "index": 0, "text": "missed"},
                            "1": {"color": GOOD, "index": 1, "text": "on track"},
                        },
                    }
                ],
                description=f"`{gen.COMPLIANT}`: 1 while the period can still meet the objective.",
            )
        )
    panels.append(
        stat(
            "Alerts firing",
            alerts_firing(spec, slo),
            decimals=0,
            steps=thresholds((None, GOOD), (1, BAD)),
            description='Firing page and ticket alerts of this SLO (`ALERTS{alertstate="firing"}`).',
        )
    )
    return panels


def bad_over_period(spec: Spec, slo: SLO) -> Json:
    name = "Unavailable minutes" if uptime(slo) else "Bad events"
    queries = [
        (sel(gen.BAD_PERIOD, spec, slo), "{{period}} " + name.lower()),
        (sel(gen.ALLOWED, spec, slo), "{{period}} allowed"),
    ]
    if slo.credits is not None:
        queries.append((sel(gen.CREDIT_TIER, spec, slo), "{{credits}} credits from"))
    return timeseries(
        f"{name} {period_name(spec, slo)}",
        queries,
        min_value=0,
        description=f"`{gen.BAD_PERIOD}` through the period (it restarts at each month boundary in the contract's "
        f"time zone), against `{gen.ALLOWED}`"
        + (f" and the credit tiers (`{gen.CREDIT_TIER}`)." if slo.credits is not None else "."),
    )


def burn_down(spec: Spec, slo: SLO) -> Json:
    queries = [(sel(gen.REMAINING, spec, slo), "{{period}} remaining")]
    if slo.period.calendar:
        elapsed, length = sel(minute.PERIOD_ELAPSED, spec, slo), sel(minute.PERIOD_MINUTES, spec, slo)
        queries.append((f"1 - {elapsed} / {length}", "{{period}} spent evenly"))
    return timeseries(
        f"Error budget burn-down {period_name(spec, slo)}",
        queries,
        unit="percentunit",
        steps=thresholds((None, BAD), (0, "transparent")),
        description=f"`{gen.REMAINING}` over the calendar period (recorded per `period`, no subquery); the "
        f"straight line is the budget left if it were spent evenly (`1 - {minute.PERIOD_ELAPSED} / "
        f"{minute.PERIOD_MINUTES}`).",
    )


def burn_rates(spec: Spec, slo: SLO) -> Json:
    windows = sorted({w for t in slo.tiers for w in (t.long, t.short)})
    nominal = slo.period.nominal_minutes
    factors: dict[Fraction, str] = {}
    for tier in slo.tiers:
        factor = tier.burn_factor(nominal)
        if factors.get(factor) != BAD:
            factors[factor] = BAD if tier.severity == "page" else WARN
    steps = thresholds((None, "transparent"), *((float(f), c) for f, c in sorted(factors.items())))
    tiers = "; ".join(
        f"{t.severity}: {format_number(t.burn_factor(nominal))}× over {window_name(t.long)} and {window_name(t.short)}"
        for t in slo.tiers
    )
    return timeseries(
        "Burn rate by window",
        [(selector(gen.burn_rate(w), {"service": spec.service, "slo": slo.name}), window_name(w)) for w in windows],
        min_value=0,
        steps=steps,
        description=f"`slakit:slo_burn_rate:<window>`: (bad / total) / budget. Threshold lines are the alert "
        f"factors ({tiers}); an alert needs both its long and short window above its factor.",
    )


def probe_selector(metric: str, spec: Spec, **labels: str) -> str:
    services = sorted({slo.sli.uptime.probe_service or spec.service for slo in spec.slos if uptime(slo)})
    if len(services) == 1:
        return selector(metric, {"service": services[0], **labels})
    return selector(metric, labels, {"service": regex_alternatives(services)})


def has_probes(spec: Spec) -> bool:
    return any(uptime(slo) for slo in spec.slos)


def probe_latency(spec: Spec) -> Json:
    buckets = probe_selector("slakit_probe_duration_seconds_bucket", spec)
    rate = f"sum by (le, probe, location) (rate({buckets}[{RATE_INTERVAL}]))"
    return timeseries(
        "Probe latency",
        [
            (f"histogram_quantile({q}, {rate})", f"p{round(q * 100)} {{{{probe}}}} {{{{location}}}}")
            for q in (0.5, 0.95)
        ],
        unit="s",
        min_value=0,
        description="`slakit_probe_duration_seconds`: DNS to last byte, timeouts included, by probe and location.",
    )


def probe_failures(spec: Spec) -> Json:
    failures = probe_selector("slakit_probe_failures_total", spec)
    return timeseries(
        "Probe failures per minute by reason and location",
        [(f"sum by (reason, location) (rate({failures}[{RATE_INTERVAL}])) * 60", "{{reason}} {{location}}")],
        draw="bars",
        min_value=0,
        description="`slakit_probe_failures_total` by `reason` (see docs/metrics.md) and `location`.",
    )


def delivery_failures(spec: Spec) -> Json:
    service = quote(spec.service)
    queries = [
        (
            f'sum(rate(slakit_webhook_deliveries_total{{service={service},result="failed"}}[{RATE_INTERVAL}])) * 60',
            "webhook deliveries failed",
        ),
        (
            f'sum(rate(slakit_menu_syncs_total{{service={service},result="failed"}}[{RATE_INTERVAL}])) * 60',
            "menu syncs failed",
        ),
    ]
    return timeseries(
        "Webhook and menu-sync failures per minute",
        queries,
        draw="bars",
        min_value=0,
        description='`slakit_webhook_deliveries_total{result="failed"}` and '
        '`slakit_menu_syncs_total{result="failed"}`.',
    )


def maintenance_expr(spec: Spec) -> str:
    """Minutes an accepted maintenance window removed from the service's uptime SLOs (docs/report.md)."""
    return f"max by (service) ({selector(PLANNED_1M, {'service': spec.service})}) > 0"


def slo_title(spec: Spec, slo: SLO) -> str:
    return f"{spec.service} · {slo.name} — {objective_text(spec, slo)}"
