"""Look-ups of contract settings in loaded specs."""

from __future__ import annotations

from slakit.spec.contract import MaintenancePolicy
from slakit.spec.model import SLO, Spec


def spec_of(specs: list[Spec], service: str) -> Spec | None:
    return next((s for s in specs if s.service == service), None)


def policy_of(specs: list[Spec], service: str) -> MaintenancePolicy | None:
    spec = spec_of(specs, service)
    return spec.maintenance if spec is not None else None


def maintenance_applies(spec: Spec, slo: SLO) -> bool:
    """Planned downtime removes minutes from uptime SLOs (all, or those the policy names)."""
    if spec.maintenance is None or slo.sli.kind != "uptime":
        return False
    return spec.maintenance.slos is None or slo.name in spec.maintenance.slos
