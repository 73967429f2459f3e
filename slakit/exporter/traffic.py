"""Real-traffic counters: requests by status class, webhook deliveries and menu syncs by result.

One `TrafficCounters` per exporter process, fed by the log sources (`slakit/exporter/sources/`) and the events
API. Counters only grow while the process lives (a reload never resets them); every label value that the config
makes known exists at 0 from the start, so `increase()` and the generated ratio rules see the first event.
"""

from __future__ import annotations

from collections.abc import Iterable

from slakit.exporter.exposition import CODE_CLASSES, Family, escape

REQUESTS = Family("slakit_requests_total", "counter", "Requests to the service seen in real traffic, by status class.")
WEBHOOK_DELIVERIES = Family(
    "slakit_webhook_deliveries_total", "counter", "Webhook deliveries (e.g. orders) of the service, by result."
)
MENU_SYNCS = Family("slakit_menu_syncs_total", "counter", "Menu synchronisations of the service, by result.")

# kind → (family, label name, label values)
KINDS: dict[str, tuple[Family, str, tuple[str, ...]]] = {
    "requests": (REQUESTS, "code_class", CODE_CLASSES),
    "webhook_deliveries": (WEBHOOK_DELIVERIES, "result", ("delivered", "failed")),
    "menu_syncs": (MENU_SYNCS, "result", ("ok", "failed")),
}


def code_class(status: int) -> str | None:
    """`503` → `5xx`; None for anything outside 100–599."""
    return f"{status // 100}xx" if 100 <= status <= 599 else None


class TrafficCounters:
    """Monotonic counters keyed by (kind, service, label value)."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, dict[str, int]]] = {kind: {} for kind in KINDS}

    def declare(self, kind: str, services: Iterable[str]) -> None:
        """Make every label value of `kind` exist at 0 for these services (idempotent; never resets)."""
        values = KINDS[kind][2]
        per_service = self.counts[kind]
        for service in services:
            per_service.setdefault(service, dict.fromkeys(values, 0))

    def add(self, kind: str, service: str, value: str, n: int = 1) -> None:
        """Count `n` events; `value` must be one of the kind's label values (ValueError otherwise)."""
        if n < 0:
            raise ValueError("counters only grow")
        values = KINDS[kind][2]
        if value not in values:
            raise ValueError(f"{KINDS[kind][1]} {value!r} is not one of {', '.join(values)}")
        self.declare(kind, (service,))
        self.counts[kind][service][value] += n

    def value(self, kind: str, service: str, value: str) -> int:
        return self.counts[kind].get(service, {}).get(value, 0)

    def render(self, openmetrics: bool) -> list[str]:
        """One exposition block per kind that has any service."""
        blocks = []
        for kind, (family, label, _values) in KINDS.items():
            per_service = self.counts[kind]
            if not per_service:
                continue
            lines = [family.header(openmetrics)]
            for service in sorted(per_service):
                svc = escape(service)
                for value, count in per_service[service].items():
                    lines.append(f'{family.name}{{service="{svc}",{label}="{value}"}} {count}\n')
            blocks.append("".join(lines))
        return blocks
