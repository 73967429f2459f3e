"""Per-minute outcomes of a month, read from the recorded series of docs/rules.md.

The 1m rules record each minute once, at an evaluation T that counts the minute starting at
`floor(T) - lag` (uptime 120 s, ratio 60 s), labelled with that minute's `period`. So:

* totals are exact sums over the samples labelled with the month (`sum_over_time(...{period="2026-03"})`,
  one instant query per figure for every SLO at once);
* where minutes matter (bad minutes, unknown minutes) only those samples are fetched, sparsely: on a
  60 s grid at m + lag + 59.999 s, `sum_over_time(x[59999ms]) > 0` holds exactly the samples stamped in
  [m + lag, m + lag + 60 s), whatever the rule group's phase: the evaluation that counted minute m.
  (`timestamp()` would say the same but is two orders of magnitude slower in range queries.)
* minutes with no evaluation at all (Prometheus down, retention) are unknown: they are located, only for
  SLOs that have them, from the timestamps of the `total` series;
* external dependencies: a minute an external probe closed as down is the increase of its exporter counter
  between the samples stamped at the minute's start and end (the exporter stamps minute ends).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from slakit.report.prometheus import Prometheus
from slakit.rules import sli as minute
from slakit.spec.calendar import Month, Period, month_period, zone
from slakit.spec.model import SLO, Spec

WORKERS = 4


@dataclass
class SloMinutes:
    """One SLO's month as measured: totals from the period's samples, and the minutes that were not good."""

    service: str
    slo: str
    kind: str
    period: Period
    bad_events: int = 0  # uptime: bad minutes; ratio: error events
    total_events: int = 0  # uptime: known minutes; ratio: all events
    evaluated: int = 0  # 1m samples filed under the period
    bad: dict[int, int] = field(default_factory=dict)  # minute start -> bad minutes counted for it
    unknown: set[int] = field(default_factory=set)  # minute starts no location reported, or never evaluated
    external_down: set[int] = field(default_factory=set)  # minute starts an external dependency was down

    @property
    def minutes(self) -> int:
        return self.period.minutes


def _regex(values: Iterable[str]) -> str:
    return "|".join(re.escape(v).replace("\\", "\\\\").replace('"', '\\"') for v in sorted(set(values)))


def fetch_month(prom: Prometheus, targets: list[tuple[Spec, SLO]], month: Month) -> dict[tuple[str, str], SloMinutes]:
    out: dict[tuple[str, str], SloMinutes] = {}
    groups: dict[tuple[str, str], list[tuple[Spec, SLO]]] = {}
    for spec, slo in targets:
        groups.setdefault((spec.calendar.timezone, slo.sli.kind), []).append((spec, slo))
    with ThreadPoolExecutor(WORKERS) as pool:
        for (tz, kind), members in groups.items():
            period = month_period(month, zone(tz))
            for spec, slo in members:
                out[(spec.service, slo.name)] = SloMinutes(spec.service, slo.name, kind, period)
            _Group(prom, pool, period, kind, members, out).run()
    return out


class _Group:
    """SLOs of one time zone and SLI kind: one set of queries for all of them."""

    def __init__(self, prom, pool, period: Period, kind: str, members, out) -> None:
        self.prom, self.pool, self.period, self.kind = prom, pool, period, kind
        self.members, self.out = members, out
        self.lag = minute.UPTIME_LAG_SECONDS if kind == "uptime" else minute.RATIO_LAG_SECONDS
        self.keys = {(spec.service, slo.name) for spec, slo in members}
        self.window = prom.minute_range()

    def sel(self, metric: str, keys: Iterable[tuple[str, str]] | None = None) -> str:
        keys = list(self.keys if keys is None else keys)
        services, slos = _regex(k[0] for k in keys), _regex(k[1] for k in keys)
        return f'{metric}{{period="{self.period.label}",service=~"{services}",slo=~"{slos}"}}'

    def _by_slo(self, result: list[dict]):
        for item in result:
            key = (item["metric"].get("service", ""), item["metric"].get("slo", ""))
            if key in self.keys:
                yield key, item

    def run(self) -> None:
        p = self.period
        at = p.end + self.lag
        rng = f"[{p.end - p.start + 120}s]"

        def aggregate(name: str, fn: str, metric: str) -> None:
            expr = f"sum by (service, slo) ({fn}({self.sel(metric)}{rng}))"
            for key, item in self._by_slo(self.prom.query(expr, at)):
                setattr(self.out[key], name, round(float(item["value"][1])))

        if self.kind != "uptime":
            jobs = [
                self.pool.submit(aggregate, "bad_events", "sum_over_time", minute.BAD_1M),
                self.pool.submit(aggregate, "total_events", "sum_over_time", minute.TOTAL_1M),
                self.pool.submit(aggregate, "evaluated", "count_over_time", minute.TOTAL_1M),
            ]
            for job in jobs:
                job.result()
            return
        # Uptime: the bad minutes (sparse) give the bad total too; known minutes are one sum. Unknown minutes
        # are located only where some are (known < minutes), gaps only where those do not account for all.
        jobs = [
            self.pool.submit(aggregate, "total_events", "sum_over_time", minute.TOTAL_1M),
            self.pool.submit(self._minutes, minute.BAD_1M, list(self.keys), "bad"),
        ]
        for job in jobs:
            job.result()
        for key in self.keys:
            slot = self.out[key]
            slot.bad_events = sum(slot.bad.values())
        unknown = [k for k in self.keys if self.out[k].total_events < self.out[k].minutes]
        if unknown:
            self._minutes(minute.UNKNOWN_1M, unknown, "unknown")
        jobs = []
        for key in unknown:
            slot = self.out[key]
            if len(slot.unknown) < slot.minutes - slot.total_events:
                jobs.append(self.pool.submit(self._gaps, key))
        for spec, slo in self.members:
            sli = slo.sli.uptime
            key = (spec.service, slo.name)
            slot = self.out[key]
            if sli.external_probes and (slot.bad or slot.total_events < slot.minutes):
                jobs.append(self.pool.submit(self._external, key, sli.probe_service or spec.service, sli))
        for job in jobs:
            job.result()
        for key in self.keys:
            slot = self.out[key]
            slot.evaluated = slot.total_events + len(slot.unknown)  # minutes with an evaluation, located

    def _grid(self) -> tuple[float, float]:
        """Instants m + lag + 59.999 s for every minute m of the period."""
        return self.period.start + self.lag + 59.999, self.period.end - 60 + self.lag + 59.999

    def _minute(self, instant: float) -> int:
        return round(instant - 59.999) - self.lag

    def _minutes(self, metric: str, keys: list[tuple[str, str]], what: str) -> None:
        expr = f"sum_over_time({self.sel(metric, keys)}{self.window}) > 0"
        for key, item in self._by_slo(self.prom.query_range(expr, *self._grid())):
            slot = self.out[key]
            for t, v in item["values"]:
                m = self._minute(float(t))
                if what == "bad":
                    slot.bad[m] = slot.bad.get(m, 0) + round(float(v))
                else:
                    slot.unknown.add(m)

    def _gaps(self, key: tuple[str, str]) -> None:
        """Minutes with no evaluation at all: no sample in their window."""
        expr = f"vector(1) unless on() count_over_time({self.sel(minute.TOTAL_1M, [key])}{self.window})"
        for item in self.prom.query_range(expr, *self._grid()):
            self.out[key].unknown |= {self._minute(float(t)) for t, _ in item["values"]}

    def _external(self, key: tuple[str, str], probe_service: str, sli) -> None:
        probes = _regex(sli.external_probes)
        x = f'{sli.metric}{{service="{probe_service}",probe=~"{probes}",outcome="down"}}'
        expr = f"max(({x} - {x} offset 1m) > 0)"
        p = self.period
        for item in self.prom.query_range(expr, p.start + 60, p.end):
            self.out[key].external_down |= {int(float(t)) - 60 for t, _ in item["values"]}
