"""Pre-rendered Prometheus exposition.

Every probe keeps its own rendered lines per metric family (`ProbeSeries.blocks`); they are re-rendered only
when that probe's state changes (a probe result, a closed minute). A scrape joins the blocks family by family,
so its cost is proportional to the bytes sent and never a pass that re-formats every series.

Two formats: Prometheus text 0.0.4 (timestamps in ms) and OpenMetrics 1.0.0 (timestamps in seconds, counter
families named without `_total`, `# EOF`). Only `slakit_probe_minutes_total` carries timestamps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

from slakit.exporter.config import PROBER_FAILURE_REASONS, ProbeConfig
from slakit.exporter.minutes import MinuteAccounting
from slakit.exporter.probers import ProbeResult

CODE_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass(frozen=True)
class Family:
    name: str  # the sample name (with _total for counters)
    type: str  # counter | gauge | histogram | info
    help: str

    def header(self, openmetrics: bool) -> str:
        name = self.name
        if openmetrics and self.type == "counter" and name.endswith("_total"):
            name = name[: -len("_total")]
        if openmetrics and self.type == "info":
            name = name[: -len("_info")]
        elif not openmetrics and self.type == "info":
            return f"# HELP {name} {self.help}\n# TYPE {name} gauge\n"
        return f"# HELP {name} {self.help}\n# TYPE {name} {self.type}\n"


MINUTES = Family(
    "slakit_probe_minutes_total",
    "counter",
    "Closed UTC minutes in which at least one probe completed, by outcome. Sample timestamp = end of the "
    "last closed minute.",
)
SUCCESS = Family("slakit_probe_success", "gauge", "Whether the last completed probe succeeded (1) or not (0).")
PROBES = Family("slakit_probes_total", "counter", "Completed probes.")
FAILURES = Family("slakit_probe_failures_total", "counter", "Failed probes by reason.")
DURATION = Family("slakit_probe_duration_seconds", "histogram", "Duration of completed probes (DNS to last byte).")
RESPONSES = Family(
    "slakit_probe_http_responses_total",
    "counter",
    "Final HTTP responses received by probes, by status class.",
)
TLS_EXPIRY = Family(
    "slakit_probe_tls_cert_expiry_timestamp_seconds",
    "gauge",
    "notAfter of the server certificate seen by the last TLS probe (Unix seconds).",
)
PROBE_FAMILIES = (MINUTES, SUCCESS, PROBES, FAILURES, DURATION, RESPONSES, TLS_EXPIRY)


def escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def fmt(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return floatToGoString(value)


class ProbeSeries:
    """The state of one probe's series (its counters survive reloads) and their rendered lines."""

    def __init__(self, config: ProbeConfig, location: str | None, buckets: Iterable[float], now: float) -> None:
        self.config = config
        self.location = location
        self.minutes = MinuteAccounting(now, config.minute_rule, config.minute_failure_ratio)
        self.success: int | None = None  # no series until the first probe completed
        self.probes = 0
        self.failures = dict.fromkeys(PROBER_FAILURE_REASONS[config.prober], 0)  # the reasons it can produce
        self.responses = dict.fromkeys(CODE_CLASSES, 0)
        self.buckets = tuple(buckets)
        self.bucket_counts = [0] * len(self.buckets)
        self.duration_sum = 0.0
        self.tls_expiry: float | None = None
        self.last_result: ProbeResult | None = None
        self._set_labels()
        self.blocks: list[bytes] = [b""] * len(PROBE_FAMILIES)
        self.minutes_om = b""
        self.render()

    @property
    def key(self) -> tuple[str, str]:
        return self.config.key

    def _set_labels(self) -> None:
        loc = f'location="{escape(self.location)}",' if self.location else ""
        self.labels = f'{loc}service="{escape(self.config.service)}",probe="{escape(self.config.name)}"'

    def update_definition(self, config: ProbeConfig, location: str | None, buckets: Iterable[float]) -> None:
        """A reload changed the definition of this probe (same service+name): keep every counter.

        New histogram buckets restart the per-bucket counts at 0 (count and sum continue), since the old
        observations cannot be re-bucketed; `_count` and the `+Inf` bucket never go backwards.
        """
        self.config = config
        self.failures = {r: self.failures.get(r, 0) for r in PROBER_FAILURE_REASONS[config.prober]}
        self.minutes.set_rule(config.minute_rule, config.minute_failure_ratio)
        buckets = tuple(buckets)
        if buckets != self.buckets:
            self.buckets = buckets
            self.bucket_counts = [0] * len(buckets)
        self.location = location
        self._set_labels()
        self.render()

    def observe(self, result: ProbeResult, completed_at: float) -> None:
        self.last_result = result
        self.probes += 1
        self.success = 1 if result.success else 0
        if not result.success and result.reason is not None:
            self.failures[result.reason] += 1
        if result.status is not None and 100 <= result.status <= 599:
            self.responses[f"{result.status // 100}xx"] += 1
        for i, bound in enumerate(self.buckets):
            if result.duration <= bound:
                self.bucket_counts[i] += 1
        self.duration_sum += result.duration
        if result.tls_expiry is not None:
            self.tls_expiry = result.tls_expiry
        self.minutes.record(completed_at, result.success)
        self.render()

    def close_minutes(self, now: float) -> None:
        """Close finished minutes; the minutes block is re-rendered with its new timestamp."""
        before = self.minutes.closed_until
        self.minutes.close(now)
        if self.minutes.closed_until != before:
            self._render_minutes()

    def _render_minutes(self) -> None:
        m, lb = self.minutes, self.labels
        ms = m.stamp_ms
        name = MINUTES.name
        self.blocks[0] = (
            f'{name}{{{lb},outcome="up"}} {m.up} {ms}\n{name}{{{lb},outcome="down"}} {m.down} {ms}\n'
        ).encode()
        sec = f"{ms // 1000}.{ms % 1000:03d}"
        self.minutes_om = (
            f'{name}{{{lb},outcome="up"}} {m.up} {sec}\n{name}{{{lb},outcome="down"}} {m.down} {sec}\n'
        ).encode()

    def render(self) -> None:
        lb = self.labels
        self._render_minutes()
        self.blocks[1] = b"" if self.success is None else f"slakit_probe_success{{{lb}}} {self.success}\n".encode()
        self.blocks[2] = f"slakit_probes_total{{{lb}}} {self.probes}\n".encode()
        self.blocks[3] = "".join(
            f'slakit_probe_failures_total{{{lb},reason="{r}"}} {n}\n' for r, n in self.failures.items()
        ).encode()
        name = DURATION.name
        lines = [
            f'{name}_bucket{{{lb},le="{floatToGoString(b)}"}} {c}\n'
            for b, c in zip(self.buckets, self.bucket_counts, strict=True)
        ]
        lines.append(f'{name}_bucket{{{lb},le="+Inf"}} {self.probes}\n')
        lines.append(f"{name}_count{{{lb}}} {self.probes}\n")
        lines.append(f"{name}_sum{{{lb}}} {floatToGoString(self.duration_sum)}\n")
        self.blocks[4] = "".join(lines).encode()
        self.blocks[5] = "".join(
            f'slakit_probe_http_responses_total{{{lb},code_class="{c}"}} {n}\n' for c, n in self.responses.items()
        ).encode()
        expiry = self.tls_expiry
        self.blocks[6] = b"" if expiry is None else f"{TLS_EXPIRY.name}{{{lb}}} {floatToGoString(expiry)}\n".encode()


class SimpleHistogram:
    """A label-less histogram for self-metrics."""

    def __init__(self, family: Family, buckets: tuple[float, ...]) -> None:
        self.family = family
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        value = max(0.0, value)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.count += 1
        self.sum += value

    def render(self) -> str:
        name = self.family.name
        lines = [
            f'{name}_bucket{{le="{floatToGoString(b)}"}} {c}\n' for b, c in zip(self.buckets, self.counts, strict=True)
        ]
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}\n')
        lines.append(f"{name}_count {self.count}\n{name}_sum {floatToGoString(self.sum)}\n")
        return "".join(lines)


def render(
    series: Iterable[ProbeSeries],
    self_metrics: Callable[[bool], list[str]],
    openmetrics: bool,
) -> bytes:
    """The whole exposition: per-probe blocks joined per family, then the exporter's own metrics."""
    series = list(series)
    parts: list[bytes] = []
    for i, family in enumerate(PROBE_FAMILIES):
        parts.append(family.header(openmetrics).encode())
        if i == 0 and openmetrics:
            parts.extend([s.minutes_om for s in series])
        else:
            parts.extend([s.blocks[i] for s in series])
    parts.append("".join(self_metrics(openmetrics)).encode())
    if openmetrics:
        parts.append(b"# EOF\n")
    return b"".join(parts)


def wants_openmetrics(accept: str) -> bool:
    """prometheus_client's rule: OpenMetrics when Accept lists application/openmetrics-text."""
    for accepted in accept.split(","):
        media, _, params = accepted.partition(";")
        if media.strip() == "application/openmetrics-text":
            version = ""
            for param in params.split(";"):
                key, _, value = param.partition("=")
                if key.strip() == "version":
                    version = value.strip()
            if version in ("", "1.0.0", "0.0.1"):
                return True
    return False
