"""slakit's exporter as a central exporter: 2 000 probes. Goals: /metrics p99 <= 100 ms, event loop never
blocked > 50 ms, RSS <= 150 MB.

nginx (Debian) serves 2 000 loopback targets; the exporter probes each every `--interval` seconds. During a
fixed window after warm-up the driver (this process, not measured):

* scrapes `/metrics` every `--scrape-every` seconds with Prometheus' headers (OpenMetrics, gzip) and times
  each scrape from request to last byte;
* reads the exporter's own lag self-metrics from every scrape (`slakit_exporter_event_loop_lag_seconds` and
  any other metric with `lag` in its name: gauges -> max seen, histograms -> observations above 50 ms);
* polls `/-/healthy` every `--canary-every` seconds: a cheap request whose latency jumps whenever the event
  loop is blocked, an exporter-independent view of loop stalls;
* samples RSS (/proc/<pid>/statm, process tree) every 0.5 s.

After the run, nginx's access log gives per-target inter-arrival gaps: |gap - interval| is how late probes
fired relative to each other as seen from the targets (scheduling jitter, loop lag included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from bench import _scrape
from bench._driver import every, sleep_until
from bench._exporters import Slakit, slakit_available
from bench._nginx import NginxTargets, gap_stats, window_stats
from bench._proc import Background, RssSampler, add_machine_arguments, cpu_split, niceness, tree_cpu_seconds, wait_quiet
from bench._report import save, table

GOAL_P99_MS = 100.0
GOAL_LAG_MS = 50.0
GOAL_RSS_MB = 150.0
LAG_METRIC = "slakit_exporter_event_loop_lag_seconds"
NOISY_CORES = 0.25
PY_SPY = shutil.which("py-spy") or "py-spy"

TYPE_RE = re.compile(r"^# TYPE (\S+) (\S+)", re.M)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=15.0, help="probe interval, seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="probe timeout, seconds")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the window opens")
    parser.add_argument("--window", type=float, default=90.0, help="measured window, seconds")
    parser.add_argument("--scrape-every", type=float, default=1.0, help="/metrics scrape period, seconds")
    parser.add_argument("--canary-every", type=float, default=0.1, help="/-/healthy poll period, seconds")
    add_machine_arguments(parser, "before starting")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="run the exporter under bench._trace: GC runs, slow loop callbacks",
    )
    parser.add_argument(
        "--gc-freeze-after",
        type=float,
        metavar="S",
        help="with --trace: gc.collect()+gc.freeze() in the exporter S seconds after start (experiment)",
    )
    parser.add_argument(
        "--gc-threshold", metavar="A,B,C", help="with --trace: gc.set_threshold(A, B, C) in the exporter"
    )
    parser.add_argument(
        "--py-spy", action="store_true", help="sample the exporter with py-spy during the window (pip py-spy)"
    )
    parser.add_argument(
        "--py-spy-native",
        action="store_true",
        help="like --py-spy, with native (C) frames; pauses the exporter for each sample, so slower",
    )


def lag_metrics(body: str) -> dict[str, str]:
    """name -> type for every metric whose name mentions lag."""
    return {name: kind for name, kind in TYPE_RE.findall(body) if "lag" in name}


def summarize_lag(bodies: list[str]) -> dict:
    """Per lag metric: gauges -> max over scrapes; histograms -> observations and those above 50 ms."""
    if not bodies:
        return {}
    out: dict[str, dict] = {}
    for name, kind in lag_metrics(bodies[-1]).items():
        if kind == "gauge":
            values = [v for body in bodies for _, v in _scrape.samples(body, name)]
            out[name] = {
                "type": kind,
                "max_ms": 1000 * max(values, default=float("nan")),
                "samples": len(values),
            }
        elif kind == "histogram":
            first, last = bodies[0], bodies[-1]
            count = _scrape.total(last, name + "_count") - _scrape.total(first, name + "_count")
            buckets: dict[float, float] = {}
            for body, sign in ((last, 1), (first, -1)):
                for labels, value in _scrape.samples(body, name + "_bucket"):
                    match = re.search(r'le="([^"]+)"', labels)
                    if match:
                        le = float(match.group(1))
                        buckets[le] = buckets.get(le, 0.0) + sign * value
            below = [le for le in buckets if le <= GOAL_LAG_MS / 1000]
            within = buckets[max(below)] if below else 0.0
            above = {f"{le:g}": count - n for le, n in sorted(buckets.items()) if count - n > 0}
            out[name] = {
                "type": kind,
                "observations": count,
                "above_50ms": count - within if below else None,
                "observations_above_le": above,
                "sum_s": _scrape.total(last, name + "_sum") - _scrape.total(first, name + "_sum"),
            }
        else:
            out[name] = {"type": kind, "last": _scrape.samples(bodies[-1], name)}
    return out


def _profile_summary(collapsed: Path, top: int = 25) -> dict:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output."""
    self_samples: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total_samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total_samples += n
        frames = stack.split(";")
        self_samples[frames[-1]] = self_samples.get(frames[-1], 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n

    def share(d: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(100 * n / total_samples, 1)) for name, n in ranked]

    return {"samples": total_samples, "self_pct": share(self_samples), "inclusive_pct": share(inclusive)}


def _trace_summary(path: Path, ws: float, we: float, slow_scrapes: list[float]) -> dict:
    data = json.loads(path.read_text())
    gc_in = [g for g in data["gc"] if ws <= g["t"] < we]
    by_gen: dict[int, dict] = {}
    for g in gc_in:
        entry = by_gen.setdefault(g["gen"], {"runs": 0, "total_ms": 0.0, "max_ms": 0.0})
        entry["runs"] += 1
        entry["total_ms"] += g["ms"]
        entry["max_ms"] = max(entry["max_ms"], g["ms"])
    slow = sorted((c for c in data["slow_callbacks"] if ws <= c["t"] < we), key=lambda c: -c["ms"])
    iterations = [i for i in data.get("slow_iterations", []) if ws <= i["t"] < we]
    # What ran around each slow scrape (a callback ends at "t"; a scrape is slow when either overlaps it).
    near = []
    for t in slow_scrapes:
        near.append(
            {
                "scrape_start": t,
                "gc": [g for g in gc_in if t - 0.2 <= g["t"] <= t + 0.5],
                "callbacks": [c for c in slow if t - 0.2 <= c["t"] <= t + 0.5],
            }
        )
    return {
        "gc_by_generation": by_gen,
        "slow_callbacks_ge_10ms": len(slow),
        "callbacks_over_50ms_wall": sum(1 for c in slow if c["ms"] > GOAL_LAG_MS),
        "callbacks_over_50ms_cpu": sum(1 for c in slow if c.get("cpu_ms", c["ms"]) > GOAL_LAG_MS),
        "gc_over_50ms": sum(1 for g in gc_in if g["ms"] > GOAL_LAG_MS),
        "iterations_over_50ms_busy": len(iterations),
        "iterations_over_50ms_cpu": sum(1 for i in iterations if i["cpu_ms"] > GOAL_LAG_MS),
        "slowest_iterations": sorted(iterations, key=lambda i: -i["busy_ms"])[:10],
        "slowest_callbacks": [
            {**c, "gc_inside": [g for g in gc_in if c["t"] - c["ms"] / 1000 - 0.005 <= g["t"] <= c["t"] + 0.001]}
            for c in slow[:15]
        ],
        "around_slow_scrapes": near,
        "gc_count_objects_frozen_at_exit": data.get("gc_count_objects_frozen"),
        "gc_threshold": data.get("gc_threshold"),
        "experiments": data.get("experiments"),
    }


def _exporter(nginx: NginxTargets, args, trace: str) -> Slakit:
    exporter = Slakit(nginx.urls, args.interval, args.timeout, trace=trace)
    env = {}
    if args.gc_freeze_after is not None:
        env["BENCH_GC_FREEZE_AFTER"] = str(args.gc_freeze_after)
    if args.gc_threshold:
        env["BENCH_GC_THRESHOLD"] = args.gc_threshold
    if env and not trace:
        raise SystemExit("--gc-freeze-after / --gc-threshold need --trace")
    exporter.env = env or None
    return exporter


async def main_async(args) -> dict:
    scrapes: list[_scrape.Scrape] = []
    canaries: list[_scrape.Scrape] = []
    workdir = Path(tempfile.mkdtemp(prefix="slakit-bench-scale-"))
    trace = str(workdir / "trace.json") if args.trace else ""
    pyspy_out = workdir / "pyspy.txt"
    pyspy = None
    idle_before = wait_quiet(args.quiet_wait)
    with (
        NginxTargets(args.targets) as nginx,
        _exporter(nginx, args, trace) as sk,
    ):
        rss = RssSampler(sk.pid).start()
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            metrics, healthy = f"{sk.url}/metrics", f"{sk.url}/-/healthy"

            # The driver keeps its own event loop light: regular scrapes are only timed (bodies dropped),
            # the lag histograms are cumulative, so they are read from one scrape at each end of the window.
            async def do_scrape() -> None:
                result = await _scrape.scrape(session, metrics)
                result.body = ""
                scrapes.append(result)

            async def canary() -> None:
                canaries.append(await _scrape.scrape(session, healthy))

            start = time.time() + 0.2
            ws, we = start + args.warmup, start + args.warmup + args.window
            tasks = [
                asyncio.create_task(every(args.scrape_every, start, we, do_scrape)),
                asyncio.create_task(every(args.canary_every, ws, we, canary)),
            ]
            await sleep_until(ws - 0.3)
            before = await _scrape.scrape(session, metrics)
            await sleep_until(ws)
            if args.py_spy or args.py_spy_native:
                pyspy = subprocess.Popen(
                    [
                        PY_SPY,
                        "record",
                        "--pid",
                        str(sk.pid),
                        "--duration",
                        f"{args.window:.0f}",
                        "--rate",
                        "250",
                        "--format",
                        "raw",
                        "--threads",
                        *(["--native"] if args.py_spy_native else ["--nonblocking"]),
                        "--output",
                        str(pyspy_out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            split0 = cpu_split(sk.pid)
            cpu0, ws = tree_cpu_seconds(sk.pid), time.time()
            bg = Background([sk.pid, nginx.pid, *([pyspy.pid] if pyspy else [])])
            await sleep_until(we)
            cpu1, we = tree_cpu_seconds(sk.pid), time.time()
            split1 = cpu_split(sk.pid)
            background = bg.cores()
            await asyncio.gather(*tasks)
            after = await _scrape.scrape(session, metrics)
        rss.stop()
        if pyspy is not None:
            pyspy.wait(60)
        if not sk.alive():
            raise RuntimeError("slakit exporter died during the run\n" + sk.log_tail())
        requests = nginx.requests()
    window_scrapes = [s for s in scrapes if ws <= s.start < we]
    latencies = [1000 * s.latency for s in window_scrapes if not s.error and s.status == 200]
    canary_ms = [1000 * c.latency for c in canaries if not c.error and c.status == 200]
    seen = window_stats(requests, ws, we)
    probes = seen["requests"]
    cpu = cpu1 - cpu0
    data = {
        "params": vars(args),
        "window_s": we - ws,
        "busy_cores_before_start": idle_before,
        "background_cores_in_window": background,
        "probes": probes,
        "nginx": seen,
        "probes_per_s": probes / (we - ws),
        "expected_probes_per_s": args.targets / args.interval,
        "cpu_s": cpu,
        "cpu_cores": cpu / (we - ws),
        "cpu_user_s": split1[0] - split0[0],
        "cpu_system_s": split1[1] - split0[1],
        "cpu_s_per_1000_probes": 1000 * cpu / probes if probes else float("nan"),
        "scrapes": len(window_scrapes),
        "scrape_errors": sum(1 for s in window_scrapes if s.error or s.status != 200),
        "scrape_p50_ms": _scrape.percentile(latencies, 0.50),
        "scrape_p99_ms": _scrape.percentile(latencies, 0.99),
        "scrape_max_ms": max(latencies, default=float("nan")),
        "scrape_bytes_gzip": after.bytes_on_wire,
        "scrape_bytes": len(after.body),
        "scrape_lines": after.body.count("\n"),
        "scrape_timeline": [(round(s.start - ws, 3), round(1000 * s.latency, 1)) for s in window_scrapes],
        "canaries": len(canary_ms),
        "canary_p99_ms": _scrape.percentile(canary_ms, 0.99),
        "canary_max_ms": max(canary_ms, default=float("nan")),
        "lag_metrics": summarize_lag([before.body, after.body]),
        "target_gap_deviation": gap_stats(requests, ws, we, args.interval),
        "rss_max_mb": rss.max / 2**20,
        "rss_end_mb": (rss.samples[-1][1] if rss.samples else 0) / 2**20,
        "probes_total_exporter": _scrape.total(after.body, "slakit_probes_total")
        - _scrape.total(before.body, "slakit_probes_total"),
        "probe_success_now": _scrape.total(after.body, "slakit_probe_success"),
        "probe_failures_total": _scrape.total(after.body, "slakit_probe_failures_total"),
    }
    slow_scrapes = [s.start for s in window_scrapes if s.latency * 1000 > GOAL_P99_MS / 2]
    if trace and Path(trace).exists():
        data["trace"] = _trace_summary(Path(trace), ws, we, slow_scrapes)
    if pyspy_out.exists():
        data["py_spy"] = _profile_summary(pyspy_out)
    shutil.rmtree(workdir, ignore_errors=True)
    return data


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def run(args) -> dict:
    why = slakit_available()
    if why is not None:
        raise RuntimeError(f"slakit exporter unavailable: {why}")
    with niceness(args.nice):
        data = asyncio.run(main_async(args))
    lag_max_ms = None
    lag_row: tuple
    gauge = data["lag_metrics"].get(LAG_METRIC)
    if gauge and gauge["type"] == "gauge":
        lag_max_ms = gauge["max_ms"]
        lag_row = (
            f"{LAG_METRIC} max (ms)",
            lag_max_ms,
            f"<= {GOAL_LAG_MS:g}",
            _yes(lag_max_ms <= GOAL_LAG_MS),
        )
    elif gauge and gauge["type"] == "histogram":
        above = gauge["above_50ms"]
        lag_row = (f"{LAG_METRIC} obs > 50 ms", above, "0", _yes(above == 0) if above is not None else "?")
    else:
        lag_row = (f"{LAG_METRIC}", "not exposed")
    gaps = data["target_gap_deviation"]
    p99_ok = data["scrape_p99_ms"] <= GOAL_P99_MS
    rss_ok = data["rss_max_mb"] <= GOAL_RSS_MB
    data["goals"] = {
        "scrape_p99": p99_ok,
        "rss": rss_ok,
        "event_loop_lag": (lag_max_ms <= GOAL_LAG_MS) if lag_max_ms is not None else None,
    }
    rows = [
        ("probes in window (nginx)", data["probes"]),
        (
            "targets / non-200 / reused conns",
            "{targets} / {non_200} / {reused_connection}".format(**data["nginx"]),
        ),
        ("probes/s (expected)", f"{data['probes_per_s']:.1f} ({data['expected_probes_per_s']:.1f})"),
        (
            "probe_success now / failures total",
            f"{data['probe_success_now']:g} / {data['probe_failures_total']:g}",
        ),
        (
            "CPU cores used (user / system s)",
            f"{data['cpu_cores']:.3f} ({data['cpu_user_s']:.2f} / {data['cpu_system_s']:.2f})",
        ),
        ("CPU s / 1000 probes", data["cpu_s_per_1000_probes"]),
        (
            "/metrics size gzip / plain (KiB)",
            f"{data['scrape_bytes_gzip'] / 1024:.0f} / "
            f"{data['scrape_bytes'] / 1024:.0f} ({data['scrape_lines']} lines)",
        ),
        ("/metrics scrapes (errors)", f"{data['scrapes']} ({data['scrape_errors']})"),
        ("/metrics p50 ms", data["scrape_p50_ms"]),
        ("/metrics p99 ms", data["scrape_p99_ms"], f"<= {GOAL_P99_MS:g}", _yes(p99_ok)),
        ("/metrics max ms", data["scrape_max_ms"]),
        lag_row,
        ("/-/healthy canary p99 / max ms", f"{data['canary_p99_ms']:.1f} / {data['canary_max_ms']:.1f}"),
        (
            "target gap |gap-interval| p99 / max ms",
            f"{gaps.get('p99_ms', float('nan')):.1f} / {gaps.get('max_ms', float('nan')):.1f}",
        ),
        ("RSS max MB", data["rss_max_mb"], f"<= {GOAL_RSS_MB:g}", _yes(rss_ok)),
        ("other load in window (cores)", data["background_cores_in_window"]),
    ]
    for name, info in data["lag_metrics"].items():
        if name != LAG_METRIC:
            rows.append((f"{name} ({info['type']})", info.get("max_ms", info.get("above_50ms", "-"))))
    print(
        table(
            f"exporter_scale: {args.targets} probes, interval {args.interval:g}s, window {args.window:g}s, "
            f"/metrics every {args.scrape_every:g}s",
            rows,
        )
    )
    if data["background_cores_in_window"] > NOISY_CORES:
        print(
            f"WARNING: other processes used {data['background_cores_in_window']:.2f} cores in the window: "
            "latency and lag numbers are not representative (CPU per probe is less affected)."
        )
    if "trace" in data:
        tr = data["trace"]
        print("trace (in window): GC by generation:", json.dumps(tr["gc_by_generation"]))
        print(
            f"  loop callbacks >= 10 ms: {tr['slow_callbacks_ge_10ms']}; > 50 ms: "
            f"{tr['callbacks_over_50ms_wall']} wall, {tr['callbacks_over_50ms_cpu']} CPU "
            f"(the exporter's own blocking); GC runs > 50 ms: {tr['gc_over_50ms']}"
        )
        print(
            f"  loop iterations busy > 50 ms: {tr['iterations_over_50ms_busy']}, of which > 50 ms CPU: "
            f"{tr['iterations_over_50ms_cpu']}; slowest (busy ms / CPU ms / callbacks): "
            + ", ".join(f"{i['busy_ms']:.0f}/{i['cpu_ms']:.0f}/{i['callbacks']}" for i in tr["slowest_iterations"][:6])
        )
        print("  slowest callbacks:")
        for c in tr["slowest_callbacks"][:8]:
            gc_ms = sum(g["ms"] for g in c["gc_inside"])
            gc_note = f" [GC {gc_ms:.0f} ms inside]" if gc_ms else ""
            print(f"    {c['ms']:7.1f} ms ({c['cpu_ms']:5.1f} CPU){gc_note}  {c['callback'][:130]}")
    if "py_spy" in data:
        print(f"py-spy ({data['py_spy']['samples']} samples), top self time:")
        for name, pct in data["py_spy"]["self_pct"][:12]:
            print(f"  {pct:5.1f}%  {name[:140]}")
    print(f"results: {save('exporter_scale', data)}")
    return data
