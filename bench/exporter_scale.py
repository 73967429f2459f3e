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
import re
import time

import aiohttp

from bench import _scrape
from bench._driver import every, sleep_until
from bench._exporters import Slakit, slakit_available
from bench._nginx import NginxTargets, count_between, gap_stats
from bench._proc import RssSampler, tree_cpu_seconds
from bench._report import save, table

GOAL_P99_MS = 100.0
GOAL_LAG_MS = 50.0
GOAL_RSS_MB = 150.0
LAG_METRIC = "slakit_exporter_event_loop_lag_seconds"

TYPE_RE = re.compile(r"^# TYPE (\S+) (\S+)", re.M)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=15.0, help="probe interval, seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="probe timeout, seconds")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the window opens")
    parser.add_argument("--window", type=float, default=90.0, help="measured window, seconds")
    parser.add_argument("--scrape-every", type=float, default=1.0, help="/metrics scrape period, seconds")
    parser.add_argument("--canary-every", type=float, default=0.1, help="/-/healthy poll period, seconds")


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


async def main_async(args) -> dict:
    scrapes: list[_scrape.Scrape] = []
    canaries: list[_scrape.Scrape] = []
    with NginxTargets(args.targets) as nginx, Slakit(nginx.urls, args.interval, args.timeout) as sk:
        rss = RssSampler(sk.pid).start()
        t_ready = time.time()
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            metrics, healthy = f"{sk.url}/metrics", f"{sk.url}/-/healthy"
            bodies: list[str] = []

            async def do_scrape() -> None:
                result = await _scrape.scrape(session, metrics)
                scrapes.append(result)
                if lag_metrics(result.body):
                    bodies.append(result.body)
                result.body = result.body if len(scrapes) == 1 else ""  # keep memory bounded

            async def canary() -> None:
                canaries.append(await _scrape.scrape(session, healthy))

            start = time.time() + 0.2
            ws, we = start + args.warmup, start + args.warmup + args.window
            before = await _scrape.scrape(session, metrics)
            tasks = [
                asyncio.create_task(every(args.scrape_every, start, we, do_scrape)),
                asyncio.create_task(every(args.canary_every, ws, we, canary)),
            ]
            await sleep_until(ws)
            cpu0, ws = tree_cpu_seconds(sk.pid), time.time()
            n_bodies0 = len(bodies)
            await sleep_until(we)
            cpu1, we = tree_cpu_seconds(sk.pid), time.time()
            await asyncio.gather(*tasks)
            after = await _scrape.scrape(session, metrics)
        rss.stop()
        if not sk.alive():
            raise RuntimeError("slakit exporter died during the run\n" + sk.log_tail())
        requests = nginx.requests()
    window_scrapes = [s for s in scrapes if ws <= s.start < we]
    latencies = [1000 * s.latency for s in window_scrapes if not s.error and s.status == 200]
    canary_ms = [1000 * c.latency for c in canaries if not c.error and c.status == 200]
    probes = count_between(requests, ws, we)
    cpu = cpu1 - cpu0
    lag = summarize_lag(bodies[max(0, n_bodies0 - 1) :])
    return {
        "params": vars(args),
        "startup_s": t_ready - sk.started if hasattr(sk, "started") else None,
        "window_s": we - ws,
        "probes": probes,
        "probes_per_s": probes / (we - ws),
        "expected_probes_per_s": args.targets / args.interval,
        "cpu_s": cpu,
        "cpu_cores": cpu / (we - ws),
        "cpu_s_per_1000_probes": 1000 * cpu / probes if probes else float("nan"),
        "scrapes": len(window_scrapes),
        "scrape_errors": sum(1 for s in window_scrapes if s.error or s.status != 200),
        "scrape_p50_ms": _scrape.percentile(latencies, 0.50),
        "scrape_p99_ms": _scrape.percentile(latencies, 0.99),
        "scrape_max_ms": max(latencies, default=float("nan")),
        "scrape_bytes_gzip": after.bytes_on_wire,
        "scrape_bytes": len(after.body),
        "scrape_lines": after.body.count("\n"),
        "canaries": len(canary_ms),
        "canary_p99_ms": _scrape.percentile(canary_ms, 0.99),
        "canary_max_ms": max(canary_ms, default=float("nan")),
        "lag_metrics": lag,
        "target_gap_deviation": gap_stats(requests, ws, we, args.interval),
        "rss_max_mb": rss.max / 2**20,
        "rss_end_mb": (rss.samples[-1][1] if rss.samples else 0) / 2**20,
        "rss_start_mb": (rss.samples[0][1] if rss.samples else 0) / 2**20,
        "probes_total_exporter": _scrape.total(after.body, "slakit_probes_total")
        - _scrape.total(before.body, "slakit_probes_total"),
        "probe_success_now": _scrape.total(after.body, "slakit_probe_success"),
        "probe_failures_total": _scrape.total(after.body, "slakit_probe_failures_total"),
    }


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def run(args) -> dict:
    why = slakit_available()
    if why is not None:
        raise RuntimeError(f"slakit exporter unavailable: {why}")
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
        ("probes/s (expected)", f"{data['probes_per_s']:.1f} ({data['expected_probes_per_s']:.1f})"),
        (
            "probe_success now / failures total",
            f"{data['probe_success_now']:g} / {data['probe_failures_total']:g}",
        ),
        ("CPU cores used", data["cpu_cores"]),
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
    print(f"results: {save('exporter_scale', data)}")
    return data
