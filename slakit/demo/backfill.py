"""Backfill a month of synthetic history into Prometheus: the exporter's raw series and the recorded series.

The recorded series are computed here, in Python, from the same minutes (the history is synthetic, so every
minute is known), instead of evaluating the rules over the past with `promtool tsdb create-blocks-from rules`:
that needs one pass and one Prometheus restart per level of rule dependencies and took minutes for a month.
What is computed is what the generated rules record — same names, labels and float operations — and
`tests/e2e/test_backfill_matches_rules.py` proves it on promtool, sample by sample.

Scope: the demo's spec (`erp-api.demo.yaml`): calendar-month SLOs, one uptime SLI on one probe in one location,
and the ratio SLI of 5xx requests + failed webhook deliveries over all requests + deliveries.

The samples go to OpenMetrics files, one per day, turned into one-day blocks by `promtool tsdb create-blocks-from
openmetrics --max-block-duration=24h`, two at a time (promtool re-reads its whole input for every block it writes;
with its default two-hour blocks a month took 360 runs and 3x longer).
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

BLOCK = 86400  # one OpenMetrics file and one TSDB block per UTC day
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
    """The exporter's series at each boundary t0 + 60k (k = 0..len), with the scrape's `job` and `instance`.

    The counters the SLIs read (minutes, requests, deliveries) have a sample every minute; the probe's detail
    (probes, failures by reason, responses, durations, success, `up`) every 5 minutes, enough for dashboards.
    """
    out = SeriesSet()
    base = {**target, "service": service}
    p = {**base, "probe": probe}
    sli: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    detail: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def key(name: str, labels: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
        return name, tuple(labels.items())

    for cls in CODE_CLASSES:
        sli[key("slakit_requests_total", {**base, "code_class": cls})] = 0
        detail[key("slakit_probe_http_responses_total", {**p, "code_class": cls})] = 0
    for result in ("delivered", "failed"):
        sli[key("slakit_webhook_deliveries_total", {**base, "result": result})] = 0
    for outcome in ("up", "down"):
        sli[key("slakit_probe_minutes_total", {**p, "outcome": outcome})] = 0
    for reason in FAILURE_REASONS:
        detail[key("slakit_probe_failures_total", {**p, "reason": reason})] = 0
    for le in DURATION_BUCKETS:
        detail[key("slakit_probe_duration_seconds_bucket", {**p, "le": le})] = 0
    for name in ("slakit_probes_total", "slakit_probe_duration_seconds_count", "slakit_probe_duration_seconds_sum"):
        detail[key(name, p)] = 0
    probes = 12  # a minute's probes at the demo's 5 s interval
    success = 1
    for k in range(len(minutes) + 1):
        t = t0 + 60 * k
        for (name, labels), value in sli.items():
            out.add(name, dict(labels), t, value)
        if k % 5 == 0 or k == len(minutes):
            for (name, labels), value in detail.items():
                out.add(name, dict(labels), t, value)
            out.add("slakit_probe_success", p, t, success)
            out.add("up", target, t, 1)
        if k == len(minutes):
            break
        m = minutes[k]
        for cls, n in m.requests.items():
            sli[key("slakit_requests_total", {**base, "code_class": cls})] += n
        for result, n in m.deliveries.items():
            sli[key("slakit_webhook_deliveries_total", {**base, "result": result})] += n
        if m.outcome == "none":
            continue
        success = int(m.outcome == "up")
        sli[key("slakit_probe_minutes_total", {**p, "outcome": m.outcome})] += 1
        detail[key("slakit_probes_total", p)] += probes
        if m.outcome == "down":
            detail[key("slakit_probe_failures_total", {**p, "reason": "connect"})] += probes
        else:
            detail[key("slakit_probe_http_responses_total", {**p, "code_class": "2xx"})] += probes
        for le in DURATION_BUCKETS:
            detail[key("slakit_probe_duration_seconds_bucket", {**p, "le": le})] += probes
        detail[key("slakit_probe_duration_seconds_count", p)] += probes
        detail[key("slakit_probe_duration_seconds_sum", p)] = round(
            detail[key("slakit_probe_duration_seconds_sum", p)] + probes * 0.004, 6
        )
    return out


def period_table(specs: list[Spec], first: int, last: int, step: int = 240) -> SeriesSet:
    """The `slakit-periods` constants the history's minutes need (their month, the next one, the table's end).

    Every 4 minutes is enough for instant queries (5 m lookback); the live Prometheus records them itself.
    """
    out = SeriesSet()
    for tz, periods in timezone_periods(specs).items():
        rows = [(p.label, p.start) for p in periods if p.end > first and p.start <= last + 32 * 86400]
        rows.append((BEYOND, periods[-1].end))
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
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def write_openmetrics(sets: Iterable[SeriesSet], directory: Path) -> list[Path]:
    """One OpenMetrics file per block (UTC day): families contiguous, each series' samples in time order.

    Files are written block by block, so only one block's text is in memory at a time.
    """
    families: dict[str, list[Series]] = {}
    for series_set in sets:
        for s in series_set:
            if s.samples:
                families.setdefault(s.name, []).append(s)
    all_series = [s for group in families.values() for s in group]
    if not all_series:
        return []
    heads = {id(s): s.name + "{" + ",".join(f'{k}="{v}"' for k, v in s.labels.items()) + "} " for s in all_series}
    cursor = dict.fromkeys(heads, 0)
    first = min(s.samples[0][0] for s in all_series) // BLOCK
    last = max(s.samples[-1][0] for s in all_series) // BLOCK
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for block in range(first, last + 1):
        limit, lines = (block + 1) * BLOCK, []
        for name, group in families.items():
            header_at = len(lines)
            for s in group:
                head, i, samples = heads[id(s)], cursor[id(s)], s.samples
                j = i
                while j < len(samples) and samples[j][0] < limit:
                    j += 1
                lines += [f"{head}{format_value(v)} {ts}\n" for ts, v in samples[i:j]]
                cursor[id(s)] = j
            if len(lines) > header_at:
                lines.insert(header_at, f"# TYPE {name} gauge\n")
        if lines:
            path = directory / f"history-{block}.om"
            path.write_text("".join(lines) + "# EOF\n")
            paths.append(path)
    return paths


def create_blocks(promtool: str, files: list[Path], data_dir: Path, workers: int = 2) -> None:
    """`promtool tsdb create-blocks-from openmetrics` for every file, `workers` at a time; raises on failure.

    `--max-block-duration` is hidden in promtool 2.42's help but supported (shown from 2.43 on).
    """
    data_dir.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        argv = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", f"--max-block-duration={BLOCK}s"]
        argv += [str(path), str(data_dir)]
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
