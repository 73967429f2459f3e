"""The dashboards: one overview of every SLO, one detail dashboard per service."""

from __future__ import annotations

from slakit.dashboards import panels as p
from slakit.dashboards.grafana import Json, Layout, dashboard, dashboard_uid, prometheus_annotation, row
from slakit.spec.model import Spec

OVERVIEW = "overview"


def _timezone(specs: list[Spec]) -> str:
    """The contracts' time zone when they share one (so `now/M` is their month), else UTC."""
    zones = {s.calendar.timezone for s in specs if s.calendar is not None}
    return zones.pop() if len(zones) == 1 else "utc"


def overview(specs: list[Spec]) -> Json:
    layout = Layout()
    for spec in specs:
        for slo in spec.slos:
            layout.add(row(p.slo_title(spec, slo)))
            for panel in p.slo_stats(spec, slo, dashboard_uid(spec.service)):
                layout.add(panel)
    services = ", ".join(s.service for s in specs)
    return dashboard(
        uid=dashboard_uid(OVERVIEW),
        title="slakit · SLA overview",
        description=f"Month-to-date state of every SLO ({services}), from the recorded series of slakit's rules.",
        tags=["slakit", "sla"],
        panels=layout.panels,
        timezone=_timezone(specs),
        time_from="now/M",
        time_to="now",
    )


def service(spec: Spec) -> Json:
    layout = Layout()
    for slo in spec.slos:
        layout.add(row(p.slo_title(spec, slo)))
        for panel in p.slo_stats(spec, slo):
            layout.add(panel)
        layout.add(p.bad_over_period(spec, slo))
        layout.add(p.burn_down(spec, slo))
        if slo.tiers:
            layout.add({**p.burn_rates(spec, slo), "gridPos": {"h": 8, "w": 24}})
    layout.add(row(f"{spec.service} · probes and deliveries"))
    if p.has_probes(spec):
        layout.add(p.probe_latency(spec))
        layout.add(p.probe_failures(spec))
    layout.add(p.delivery_failures(spec))
    maintenance = prometheus_annotation(
        "Planned downtime",
        p.maintenance_expr(spec),
        "rgba(255, 152, 48, 1)",
        "Planned downtime",
        "accepted maintenance window: minutes excluded from the uptime SLOs",
    )
    return dashboard(
        uid=dashboard_uid(spec.service),
        title=f"slakit · {spec.service}",
        description=spec.description or f"SLOs of {spec.service}",
        tags=["slakit", "sla", spec.service],
        panels=layout.panels,
        timezone=_timezone([spec]),
        time_from="now/M",
        time_to="now/M",
        annotations=[maintenance],
    )


def all_dashboards(specs: list[Spec]) -> list[Json]:
    return [overview(specs), *(service(spec) for spec in specs)]
