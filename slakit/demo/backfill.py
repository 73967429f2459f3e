"""Backfill a month of synthetic history into Prometheus: the exporter's raw series and the recorded series.

The recorded series are computed here, in Python, from the same minutes (the history is synthetic, so every
minute is known), instead of evaluating the rules over the past with `promtool tsdb create-blocks-from rules`:
that needs one pass and one Prometheus restart per level of rule dependencies and took minutes for a month.
What is computed is what the generated rules record — same names, labels and float operations — and
`tests/e2e/test_backfill_matches_rules.py` proves it on promtool, sample by sample.

Scope: the demo's spec (`erp-api.demo.yaml`): calendar-month SLOs, one uptime SLI on one probe in one location,
and the ratio SLI of 5xx requests + failed webhook deliveries over all requests + deliveries.

The samples go to OpenMetrics files, one per two-hour TSDB block (`promtool` re-reads its whole input for every
block it writes), turned into blocks by `promtool tsdb create-blocks-from openmetrics`, two at a time.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from slakit.demo.history import CODE_CLASSES, Minute
from slakit.rules import generator as gen
from slakit.rules import sli as minute
from slakit.rules.periods import BEYOND, START, timezone_periods
from slakit.rules.promql import number
from slakit.spec.calendar import period_of, zone
from slakit.spec.model import SLO, Spec

BLOCK = 7200  # promtool writes two-hour blocks
ERRORS = [
    'slakit_requests_total{service="erp-api",code_class="5xx"}',
    'slakit_webhook_deliveries_total{service="erp-api",result="failed"}',
]
TOTAL = ['slakit_requests_total{service="erp-api"}', 'slakit_webhook_deliveries_total{service="erp-api"}']
FAILURE_REASONS = ("dns", "connect", "tls", "timeout", "protocol", "redirects", "http_status", "too_large")
FAILURE_REASONS += ("body_mismatch",)
DURATION_BUCKETS = ("0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")


@dataclass
class Series:
    """One time series: samples (Unix seconds, value) in time order."""

    name: str
    labels: dict[str, str]
    samples: list[tuple[int, float]] = field(default_factory=list)


class SeriesSet:
    def __init__(self) -> None:
        self.series: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}

    def add(self, name: str, labels: dict[str, str], t: int, value: float) -> None:
        key = (name, tuple(sorted(labels.items())))
        if key not in self.series:
            self.series[key] = Series(name, dict(labels))
        self.series[key].samples.append((t, value))

    def __iter__(self) -> Iterator[Series]:
        return iter(self.series.values())


def check_spec(spec: Spec) -> None:
    """The backfill computes the demo spec's SLIs; anything else is refused rather than guessed."""
    for slo in spec.slos:
        if not slo.period.calendar or slo.credits is not None:
            raise ValueError(f"backfill: {spec.service}/{slo.name}: only calendar-month SLOs without credits")
        if slo.sli.uptime is not None and (slo.sli.uptime.quorum != 1 or slo.sli.uptime.probe_service):
            raise ValueError(f"backfill: {spec.service}/{slo.name}: only quorum 1 on the spec's own service")
        if slo.sli.ratio is not None and (slo.sli.ratio.errors != ERRORS or slo.sli.ratio.total != TOTAL):
            raise ValueError(f"backfill: {spec.service}/{slo.name}: only the demo's request/webhook ratio SLI")
        if any(1 in (tier.long, tier.short) for tier in slo.tiers):
            raise ValueError(f"backfill: {spec.service}/{slo.name}: a 1m burn-rate window shares the 1m series' name")


# --- raw series: what the exporter would have exposed, one sample per minute boundary -----------------------


def raw_series(minutes: list[Minute], t0: int, service: str, probe: str, target: dict[str, str]) -> SeriesSet:
    """Counters at each boundary t0 + 60k (k = 0..len), as scraped: with the scrape's `job` and `instance`."""
    out = SeriesSet()
    base = {**target, "service": service}
    counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def bump(name: str, labels: dict[str, str], n: float) -> None:
        key = (name, tuple(labels.items()))
        counts[key] = counts.get(key, 0) + n

    for cls in CODE_CLASSES:
        bump("slakit_requests_total", {**base, "code_class": cls}, 0)
    for result in ("delivered", "failed"):
        bump("slakit_webhook_deliveries_total", {**base, "result": result}, 0)
    p = {**base, "probe": probe}
    for outcome in ("up", "down"):
        bump("slakit_probe_minutes_total", {**p, "outcome": outcome}, 0)
    bump("slakit_probes_total", p, 0)
    for reason in FAILURE_REASONS:
        bump("slakit_probe_failures_total", {**p, "reason": reason}, 0)
    for cls in CODE_CLASSES:
        bump("slakit_probe_http_responses_total", {**p, "code_class": cls}, 0)
    for le in DURATION_BUCKETS:
        bump("slakit_probe_duration_seconds_bucket", {**p, "le": le}, 0)
    bump("slakit_probe_duration_seconds_count", p, 0)
    bump("slakit_probe_duration_seconds_sum", p, 0)
    probes_per_minute = 12  # the demo probes every 5 s
    for k in range(len(minutes) + 1):
        t = t0 + 60 * k
        for (name, labels), value in counts.items():
            out.add(name, dict(labels), t, value)
        out.add("up", target, t, 1)
        if k == len(minutes):
            break
        m = minutes[k]
        success = 0.0 if m.outcome == "down" else 1.0
        if m.outcome != "none":
            out.add("slakit_probe_success", p, t + 60, success)
        for cls, n in m.requests.items():
            bump("slakit_requests_total", {**base, "code_class": cls}, n)
        for result, n in m.deliveries.items():
            bump("slakit_webhook_deliveries_total", {**base, "result": result}, n)
        if m.outcome == "none":
            continue
        bump("slakit_probe_minutes_total", {**p, "outcome": m.outcome}, 1)
        bump("slakit_probes_total", p, probes_per_minute)
        if m.outcome == "down":
            bump("slakit_probe_failures_total", {**p, "reason": "connect"}, probes_per_minute)
        else:
            bump("slakit_probe_http_responses_total", {**p, "code_class": "2xx"}, probes_per_minute)
        for le in DURATION_BUCKETS:
            bump("slakit_probe_duration_seconds_bucket", {**p, "le": le}, probes_per_minute)
        bump("slakit_probe_duration_seconds_count", p, probes_per_minute)
        bump("slakit_probe_duration_seconds_sum", p, probes_per_minute * 0.004)
    return out


def period_table(specs: list[Spec], first: int, last: int, step: int = 240) -> SeriesSet:
    """The `slakit-periods` constants; every 4 minutes is enough for instant queries (5 m lookback)."""
    out = SeriesSet()
    for tz, periods in timezone_periods(specs).items():
        rows = [(p.label, p.start) for p in periods] + [(BEYOND, periods[-1].end)]
        for t in range(first, last + 1, step):
            for label, start in rows:
                out.add(START, {"timezone": tz, "period": label}, t, start)
    return out


# --- recorded series: what each evaluation of the generated rules records -------------------------------------


def _div(a: float, b: float) -> float:
    """PromQL division: x/0 is ±Inf, 0/0 is NaN."""
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _minute_counts(slo: SLO, minutes: list[Minute], index: int) -> tuple[int, int] | None:
    """(bad, total) the SLO records for minute `index`: down/reported minutes, or error/all events.

    Before the first minute of history there is no earlier sample: a ratio SLI records 0 events (`or
    vector(0)`), an uptime SLI records nothing (None).
    """
    if slo.sli.uptime is not None:
        if index < 0:
            return None
        m = minutes[index]
        return int(m.outcome == "down"), int(m.outcome != "none")
    if index < 0:
        return 0, 0
    m = minutes[index]
    bad = m.requests.get("5xx", 0) + m.deliveries.get("failed", 0)
    return bad, sum(m.requests.values()) + sum(m.deliveries.values())


def recorded_series(
    spec: Spec, minutes: list[Minute], t0: int, evaluations: Iterable[int], slow_every: int = 5
) -> SeriesSet:
    """Every recording rule of every SLO at each evaluation time `T` (minute boundaries from t0 on).

    The 1m group records at every T, the 5m group at every `slow_every`-th minute (5 live; promtool's unit
    tests evaluate every group every minute: 1).
    """
    out = SeriesSet()
    tz = zone(spec.calendar.timezone)
    evaluations = list(evaluations)
    for slo in spec.slos:
        _slo_series(out, spec, slo, minutes, t0, evaluations, tz, slow_every)
    return out


def _slo_series(out, spec, slo, minutes, t0, evaluations, tz, slow_every) -> None:  # type: ignore[no-untyped-def]
    labels = spec.slo_labels(slo)
    lag = minute.lag_seconds(slo)
    budget, strict = slo.objective.budget, slo.objective.strict
    budget_num = float(number(budget))
    fast, slow = gen._split_windows(slo)
    burn_windows = {w for t in slo.tiers for w in (t.long, t.short)}
    uptime = slo.sli.uptime is not None
    history: list[tuple[int, int] | None] = []  # (bad, total) recorded by each 1m evaluation; None: nothing
    period_label, period_bad, period_total, period_samples = None, 0, 0, 0
    for T in evaluations:
        counted = T - lag
        counts = _minute_counts(slo, minutes, (counted - t0) // 60)
        period = period_of(counted, tz)
        p = {**labels, "period": period.label}
        elapsed = (counted - period.start) // 60 + 1
        out.add(minute.PERIOD_ELAPSED, p, T, elapsed)
        out.add(minute.PERIOD_MINUTES, p, T, period.minutes)
        if period.label != period_label:
            period_label, period_bad, period_total, period_samples = period.label, 0, 0, 0
        if counts is not None:
            bad, total = counts
            if uptime:
                out.add(minute.LOCATION_DOWN, labels, T, bad)
                out.add(minute.LOCATION_REPORTED, labels, T, total)
            out.add(minute.BAD_1M, p, T, bad)
            out.add(minute.TOTAL_1M, p, T, total)
            period_bad, period_total, period_samples = period_bad + bad, period_total + total, period_samples + 1
        history.append(counts)
        if uptime:
            out.add(minute.UNKNOWN_1M, p, T, 1 if counts is None else max(1 - counts[1], 0))
        _windows(out, labels, T, history, fast, burn_windows, budget_num)
        if (T // 60) % slow_every:
            continue
        _windows(out, labels, T, history, slow, burn_windows, budget_num)
        out.add(gen.OBJECTIVE, labels, T, float(number(slo.objective.target)))
        if not period_samples:  # no 1m sample of this period yet: only what needs none
            if uptime:
                scaled = period.minutes * budget.numerator / budget.denominator
                out.add(gen.ALLOWED, p, T, math.ceil(scaled) - 1 if strict else math.floor(scaled))
                out.add(gen.UNKNOWN_PERIOD, p, T, elapsed)
            continue
        out.add(gen.BAD_PERIOD, p, T, period_bad)
        out.add(gen.TOTAL_PERIOD, p, T, period_total)
        if uptime:
            _uptime_period(out, p, T, period_bad, period_total, elapsed, period.minutes, budget, strict)
        else:
            _ratio_period(out, p, T, period_bad, period_total, budget, strict)


def _windows(out, labels, T, history, windows, burn_windows, budget_num) -> None:  # type: ignore[no-untyped-def]
    for w in windows:
        recent = [c for c in history[-w:] if c is not None]
        if not recent:  # sum_over_time of nothing is nothing
            continue
        bad, total = sum(b for b, _ in recent), sum(t for _, t in recent)
        out.add(gen.bad_window(w), labels, T, bad)
        out.add(gen.total_window(w), labels, T, total)
        if w in burn_windows:
            out.add(gen.burn_rate(w), labels, T, _div(_div(bad, total), budget_num))


def _uptime_period(out, p, T, bad, known, elapsed, n, budget: Fraction, strict: bool) -> None:  # type: ignore[no-untyped-def]
    scaled = n * budget.numerator / budget.denominator
    out.add(gen.ALLOWED, p, T, math.ceil(scaled) - 1 if strict else math.floor(scaled))
    unknown = elapsed - known
    out.add(gen.UNKNOWN_PERIOD, p, T, unknown)
    out.add(gen.SLI_PERIOD, p, T, 1 - _div(bad, elapsed))
    out.add(gen.SLI_WORST, p, T, 1 - _div(bad + unknown, elapsed))
    out.add(gen.REMAINING, p, T, 1 - _div(bad, scaled))
    left, right = bad * budget.denominator, n * budget.numerator
    out.add(gen.COMPLIANT, p, T, float(left < right if strict else left <= right))


def _ratio_period(out, p, T, bad, total, budget: Fraction, strict: bool) -> None:  # type: ignore[no-untyped-def]
    scaled = total * budget.numerator / budget.denominator
    allowed = math.ceil(scaled) - 1 if strict else math.floor(scaled)
    out.add(gen.ALLOWED, p, T, max(allowed, 0))
    out.add(gen.SLI_PERIOD, p, T, 1 - _div(bad, total))
    out.add(gen.REMAINING, p, T, 1 - _div(bad, scaled))
    left, right = bad * budget.denominator, total * budget.numerator
    compliant = float(left < right) + float(total == 0) if strict else float(left <= right)
    out.add(gen.COMPLIANT, p, T, compliant)


# --- OpenMetrics and promtool ---------------------------------------------------------------------------------


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def write_openmetrics(sets: Iterable[SeriesSet], directory: Path) -> list[Path]:
    """One OpenMetrics file per two-hour block: families contiguous, each series' samples in time order."""
    chunks: dict[int, dict[str, list[str]]] = {}
    for series_set in sets:
        for s in series_set:
            labels = ",".join(f'{k}="{v}"' for k, v in s.labels.items())
            head = f"{s.name}{{{labels}}} "
            for t, v in s.samples:
                chunks.setdefault(t // BLOCK, {}).setdefault(s.name, []).append(f"{head}{format_value(v)} {t}\n")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for block, families in sorted(chunks.items()):
        path = directory / f"history-{block}.om"
        with path.open("w") as f:
            for name, lines in families.items():
                f.write(f"# TYPE {name} gauge\n")
                f.writelines(lines)
            f.write("# EOF\n")
        paths.append(path)
    return paths


def create_blocks(promtool: str, files: list[Path], data_dir: Path, workers: int = 2) -> None:
    """`promtool tsdb create-blocks-from openmetrics` for every file, `workers` at a time; raises on failure."""
    data_dir.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        argv = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(data_dir)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()[-2000:]}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))


def backfill(
    spec: Spec,
    minutes: list[Minute],
    end: int,
    data_dir: Path,
    work_dir: Path,
    target: dict[str, str],
    promtool: str,
    probe: str = "erp-health",
) -> int:
    """Backfill `minutes` ending at the boundary `end` (raw samples up to `end`, evaluations up to `end`).

    Returns the number of samples written. The live Prometheus started afterwards evaluates from `end + 60`
    on, so no minute is counted twice.
    """
    check_spec(spec)
    t0 = end - 60 * len(minutes)
    raw = raw_series(minutes, t0, spec.service, probe, target)
    evaluations = range(t0, end + 1, 60)
    recorded = recorded_series(spec, minutes, t0, evaluations)
    table = period_table([spec], t0, end)
    files = write_openmetrics([raw, recorded, table], work_dir)
    create_blocks(promtool, files, data_dir)
    for path in files:
        path.unlink()
    return sum(len(s.samples) for series_set in (raw, recorded, table) for s in series_set)


def recorded_names(spec: Spec) -> set[str]:
    """Names of the recorded series `recorded_series` writes for `spec` (the tests compare with the rules)."""
    names = {minute.PERIOD_ELAPSED, minute.PERIOD_MINUTES, minute.BAD_1M, minute.TOTAL_1M, gen.OBJECTIVE}
    names |= {gen.BAD_PERIOD, gen.TOTAL_PERIOD, gen.ALLOWED, gen.SLI_PERIOD, gen.REMAINING, gen.COMPLIANT}
    for slo in spec.slos:
        if slo.sli.uptime is not None:
            names |= {minute.LOCATION_DOWN, minute.LOCATION_REPORTED, minute.UNKNOWN_1M}
            names |= {gen.UNKNOWN_PERIOD, gen.SLI_WORST}
        for tier in slo.tiers:
            for w in (tier.long, tier.short):
                names |= {gen.bad_window(w), gen.total_window(w), gen.burn_rate(w)}
    return names
