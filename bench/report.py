"""A month's SLA report for 1000 SLOs from a real Prometheus (goal: < 10 s).

Backfills (once, cached) the per-minute series the slakit rules record — `slakit:slo_events_bad:1m`,
`..._total:1m`, `slakit:slo_minutes_unknown:1m` — for N uptime SLOs over one calendar month, with outages,
unreported minutes, data gaps and external-dependency outages drawn from a fixed seed; then times
`build_report` (every query and the computation) and each renderer, next to a baseline measured in the same
run: one instant query summing one 1m series of every SLO over the month (the least any exact report reads).
The report's unavailable/unknown totals are checked against the generated schedule.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from bench._report import save, table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOAL_SECONDS = 10.0


def add_arguments(parser) -> None:
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--per-service", type=int, default=10, help="SLOs per spec file")
    parser.add_argument("--month", default="2026-02")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", default="/tmp/slakit-bench-report", help="backfilled TSDB kept here")
    parser.add_argument("--rebuild", action="store_true", help="backfill again even if cached")


class Schedule:
    """Deterministic outages per SLO, as sets of minute indices within the month."""

    def __init__(self, index: int, minutes: int) -> None:
        rng = random.Random(index * 7919 + 17)
        self.down, self.silent, self.gap, self.external = set(), set(), set(), set()
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            start = rng.randrange(minutes - 120)
            self.down |= set(range(start, start + rng.randrange(5, 120)))
        if rng.random() < 0.3:
            start = rng.randrange(minutes - 20)
            self.silent |= set(range(start, start + rng.randrange(1, 15)))
        if rng.random() < 0.02:
            start = rng.randrange(minutes - 60)
            self.gap |= set(range(start, start + 30))
        self.has_external = has_external(index)
        if self.has_external and self.down:
            first = min(self.down)
            self.external |= set(range(first, first + 10))
        self.silent -= self.gap
        self.down -= self.gap | self.silent


def has_external(i: int) -> bool:
    return i % 10 == 0


def names(i: int, per_service: int) -> tuple[str, str]:
    return f"bench-s{i // per_service:04d}", f"up{i % per_service}"


def write_specs(root: Path, n: int, per_service: int) -> list[Path]:
    paths = []
    for s in range((n + per_service - 1) // per_service):
        slos = []
        for i in range(s * per_service, min(n, (s + 1) * per_service)):
            uptime = {"probes": ["health"]}
            if has_external(i):
                uptime["external_probes"] = ["hosting"]
            slos.append({"name": names(i, per_service)[1], "objective": {"good": ">= 98.5%"},
                         "sli": {"uptime": uptime}, "credits": {"tiers": [{"when": "< 98.5%", "credits": 5}],
                         "termination": {"credits_above": 15, "within": "90d"}, "claim_within": "30d"}})  # fmt: skip
        spec = {"version": 1, "service": names(s * per_service, per_service)[0],
                "calendar": {"timezone": "America/New_York", "table_start": "2026-01"}, "slos": slos}  # fmt: skip
        path = root / f"spec-{s:04d}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        paths.append(path)
    return paths


def backfill(root: Path, n: int, per_service: int, month) -> dict:
    from slakit.rules import sli as minute
    from slakit.spec.calendar import month_period, zone

    p = month_period(month, zone("America/New_York"))
    minutes = p.minutes
    schedules = [Schedule(i, minutes) for i in range(n)]
    truth = {"down": sum(len(s.down) for s in schedules), "unknown": sum(len(s.silent | s.gap) for s in schedules),
             "external": sum(len(s.down & s.external) for s in schedules)}  # fmt: skip
    data = root / "data"
    if (root / "complete").exists():
        return truth
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    lag, phase = minute.UPTIME_LAG_SECONDS, 23.5
    prefixes = []
    for i in range(n):
        service, slo = names(i, per_service)
        labels = f'period="{p.label}",service="{service}",slo="{slo}"'
        prefixes.append([f"{name}{{{labels}}} " for name in (minute.BAD_1M, minute.TOTAL_1M, minute.UNKNOWN_1M)])
    chunk = 120

    def text(c0: int) -> str:
        idx = range(c0, min(minutes, c0 + chunk))
        stamps = {k: f"{p.start + k * 60 + lag + phase:.3f}" for k in idx}
        out = []
        for family in range(3):
            out.append(f"# TYPE {(minute.BAD_1M, minute.TOTAL_1M, minute.UNKNOWN_1M)[family]} gauge")
            for i, s in enumerate(schedules):
                pre = prefixes[i][family]
                for k in idx:
                    if k in s.gap:
                        continue
                    value = (k in s.down, k not in s.silent, k in s.silent)[family]
                    out.append(f"{pre}{int(value)} {stamps[k]}")
        out.append("# TYPE slakit_probe_minutes_total gauge")
        for i, s in enumerate(schedules):
            if not s.has_external:
                continue
            pre = f'slakit_probe_minutes_total{{service="{names(i, per_service)[0]}",probe="hosting",outcome="down"}} '
            before = sum(1 for k in s.external if k < c0)
            for k in idx:
                before += k in s.external
                out.append(f"{pre}{before} {p.start + (k + 1) * 60}")
        out.append("# EOF\n")
        return "\n".join(out)

    promtool = shutil.which("promtool") or "/usr/bin/promtool"

    def one(c0: int) -> None:
        path = root / f"chunk-{c0}.om"
        path.write_text(text(c0))
        proc = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(data)],
                              capture_output=True, text=True)  # fmt: skip
        path.unlink()
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])

    t0 = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(0, minutes, chunk)))
    print(f"backfilled {n} SLOs x {minutes} minutes in {time.monotonic() - t0:.0f}s", flush=True)
    (root / "complete").write_text("ok\n")
    return truth


def run(args) -> None:
    from slakit.report import render_html, render_json, render_md
    from slakit.report.build import build_report
    from slakit.report.prometheus import Prometheus
    from slakit.rules import sli as minute
    from slakit.spec import load_specs
    from slakit.spec.calendar import Month
    from tests.report.prom import BackfilledPrometheus

    month = Month.parse(args.month)
    root = Path(args.cache) / f"{args.slos}-{args.per_service}-{month}"
    if args.rebuild:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    truth = backfill(root, args.slos, args.per_service, month)
    specs = load_specs(write_specs(root, args.slos, args.per_service))
    prom = BackfilledPrometheus(root)
    prom.start()
    try:
        client = Prometheus(prom.url)
        period = build_report(prom.url, specs[:1], month).slos[0].period  # warm-up: one spec
        baseline_q = (f'sum by (service, slo) (sum_over_time({minute.TOTAL_1M}{{period="{month}"}}'
                      f"[{period.end - period.start + 120}s]))")  # fmt: skip
        baselines, reports, renders = [], [], {"md": [], "json": [], "html": []}
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            rows = client.query(baseline_q, period.end + 120)
            baselines.append(time.perf_counter() - t0)
            assert len(rows) == args.slos, len(rows)
            t0 = time.perf_counter()
            report = build_report(prom.url, specs, month)
            reports.append(time.perf_counter() - t0)
            for name, module in (("md", render_md), ("json", render_json), ("html", render_html)):
                t0 = time.perf_counter()
                module.render(report)
                renders[name].append(time.perf_counter() - t0)
        got = {"down": sum(r.unavailable + r.excluded["external"] for r in report.slos),
               "unknown": sum(r.unknown for r in report.slos),
               "external": sum(r.excluded["external"] for r in report.slos)}  # fmt: skip
        assert got == truth, (got, truth)
    finally:
        prom.stop()
    med = statistics.median
    total = med(reports) + med(renders["md"])
    rows = [
        ("SLOs", args.slos),
        ("month minutes", period.minutes),
        ("baseline: one sum_over_time query, s", med(baselines)),
        ("build_report (all queries + computation), s", med(reports)),
        ("render md, s", med(renders["md"])),
        ("render json, s", med(renders["json"])),
        ("render html, s", med(renders["html"])),
        ("report + md, s", total, f"< {GOAL_SECONDS}", total < GOAL_SECONDS),
        ("report / baseline", med(reports) / med(baselines)),
        ("figures equal the schedule", "yes"),
    ]
    print(table(f"report: {args.slos} SLOs, {month}", rows))
    data = {"slos": args.slos, "month": str(month), "rounds": args.rounds, "baseline_s": baselines,
            "build_report_s": reports, "render_s": renders, "truth": truth, "cpus": os.cpu_count()}  # fmt: skip
    path = save("report", data)
    print(f"saved {path}")
