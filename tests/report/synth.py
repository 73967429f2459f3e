"""Synthetic months of the per-minute series slakit records, written as OpenMetrics for promtool backfill.

Backfilling the recorded 1m series directly (what `slakit report` reads) is exact and fast: the samples are
stamped as the rules stamp them (the evaluation that counts minute m runs at m + lag + phase) and labelled
with the minute's `period`. External dependencies are exporter counters stamped at minute ends.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from slakit.rules import sli as minute
from slakit.spec.calendar import period_of, zone

Span = tuple[int, int]


def inside(spans: Iterable[Span], m: int) -> bool:
    return any(a <= m < b for a, b in spans)


@dataclass
class UptimeSeries:
    """One uptime SLO's minutes: down, silent (no location reported), gap (no evaluation at all)."""

    labels: dict[str, str]  # service, slo and the spec's labels
    timezone: str
    down: list[Span] = field(default_factory=list)
    silent: list[Span] = field(default_factory=list)
    gaps: list[Span] = field(default_factory=list)
    phase: float = 17.25
    lag: int = minute.UPTIME_LAG_SECONDS

    def outcome(self, m: int) -> str:
        if inside(self.gaps, m):
            return "gap"
        if inside(self.silent, m):
            return "unknown"
        return "down" if inside(self.down, m) else "up"

    def samples(self, m: int, period: str) -> Iterable[tuple[str, dict[str, str], int, float]]:
        kind = self.outcome(m)
        if kind == "gap":
            return
        labels = {**self.labels, "period": period}
        t = m + self.lag + self.phase
        yield minute.BAD_1M, labels, int(kind == "down"), t
        yield minute.TOTAL_1M, labels, int(kind != "unknown"), t
        yield minute.UNKNOWN_1M, labels, int(kind == "unknown"), t


@dataclass
class RatioSeries:
    labels: dict[str, str]
    timezone: str
    events: int = 1000
    errors: int = 1
    incidents: list[tuple[int, int, int]] = field(default_factory=list)  # start, end, errors per minute
    gaps: list[Span] = field(default_factory=list)
    phase: float = 41.5
    lag: int = minute.RATIO_LAG_SECONDS

    def counts(self, m: int) -> tuple[int, int] | None:
        if inside(self.gaps, m):
            return None
        errors = next((e for a, b, e in self.incidents if a <= m < b), self.errors)
        return errors, self.events

    def samples(self, m: int, period: str):
        counts = self.counts(m)
        if counts is None:
            return
        labels = {**self.labels, "period": period}
        t = m + self.lag + self.phase
        yield minute.BAD_1M, labels, counts[0], t
        yield minute.TOTAL_1M, labels, counts[1], t


@dataclass
class ProbeCounter:
    """An exporter's `slakit_probe_minutes_total{outcome="down"}` for one probe, stamped at minute ends."""

    labels: dict[str, str]
    down: list[Span] = field(default_factory=list)


def _fmt(name: str, labels: dict[str, str], value: float, t: float) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}} {value} {t:.3f}"


def openmetrics_days(series: list, counters: list[ProbeCounter], start: int, end: int) -> list[str]:
    """One OpenMetrics text per UTC day of minutes [start, end) (promtool re-reads a file per 2h block)."""
    texts = []
    periods: dict[tuple[str, int], str] = {}
    totals = [0] * len(counters)

    def period(tz: str, m: int) -> str:
        key = (tz, m // 3600)
        if key not in periods:
            periods[key] = period_of(m, zone(tz)).label
        return periods[key]

    day = start
    while day < end:
        families: dict[str, list[str]] = {}
        for m in range(day, min(end, day - day % 86400 + 86400), 60):
            for s in series:
                for name, labels, value, t in s.samples(m, period(s.timezone, m)):
                    families.setdefault(name, []).append(_fmt(name, labels, value, t))
            for i, c in enumerate(counters):
                totals[i] += int(inside(c.down, m))
                line = _fmt("slakit_probe_minutes_total", {**c.labels, "outcome": "down"}, totals[i], m + 60)
                families.setdefault("slakit_probe_minutes_total", []).append(line)
        lines = []
        for name, rows in families.items():
            lines += [f"# TYPE {name} gauge", *_by_series(rows)]
        texts.append("\n".join([*lines, "# EOF"]) + "\n")
        day = day - day % 86400 + 86400
    return texts


def _by_series(rows: list[str]) -> list[str]:
    """Samples of one series together, in time order (stable sort on the series text)."""
    return sorted(rows, key=lambda r: r.rsplit(" ", 2)[0])


def backfill(texts: list[str], workdir: Path, data: Path, promtool: str, workers: int = 2) -> None:
    data.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[int, str]) -> None:
        index, text = item
        path = workdir / f"day-{index:04d}.om"
        path.write_text(text)
        proc = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(data)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        path.unlink()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, enumerate(texts)))
