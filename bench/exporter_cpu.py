"""CPU seconds per 1 000 probes: slakit's exporter vs prometheus-blackbox-exporter, same 1 000 targets.

One run, one nginx (Debian) serving 1 000 loopback targets, then, one after the other:

* blackbox: the driver (this process) issues `/probe?target=...&module=http_2xx` for every target once per
  interval, evenly spread, exactly like Prometheus scraping 1 000 blackbox targets; the probe exposition it
  returns is blackbox's "scrape rendering".
* slakit: the exporter probes the same targets on its own schedule with the same interval; the driver scrapes
  `/metrics` every `--scrape-every` seconds like Prometheus (OpenMetrics + gzip headers).

Both make a fresh connection per probe. After a warm-up, the exporter's utime+stime (/proc/<pid>/stat, all
threads and children) is read at the start and end of a fixed window; probes in the window are counted at
nginx (its access log), so both sides are counted the same way. The driver's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from bench import _scrape
from bench._driver import every, paced, sleep_until
from bench._exporters import Blackbox, Slakit, slakit_available
from bench._nginx import NginxTargets, window_stats
from bench._proc import Background, RssSampler, tree_cpu_seconds, wait_quiet
from bench._report import save, table

GOAL_RATIO = 0.8
NOISY_CORES = 0.25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=15.0, help="probe interval, seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="probe timeout, seconds")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the window opens")
    parser.add_argument("--window", type=float, default=60.0, help="measured window, seconds")
    parser.add_argument("--scrape-every", type=float, default=15.0, help="slakit /metrics scrape period")
    parser.add_argument("--only", choices=["blackbox", "slakit"], help="run one side only")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        metavar="S",
        help="before each side, wait up to S s for the machine to be idle (other sessions' jobs)",
    )


def _window_result(name, nginx, pid, cpu0, cpu1, ws, we, rss, background, idle_before) -> dict:
    seen = window_stats(nginx.requests(), ws, we)
    probes = seen["requests"]
    cpu = cpu1 - cpu0
    return {
        "nginx": seen,
        "exporter": name,
        "busy_cores_before_start": idle_before,
        "background_cores_in_window": background,
        "window_s": we - ws,
        "probes": probes,
        "probes_per_s": probes / (we - ws),
        "cpu_s": cpu,
        "cpu_s_per_1000_probes": 1000 * cpu / probes if probes else float("nan"),
        "max_rss_mb": rss.max_between(ws, we) / 2**20,
    }


async def run_blackbox(nginx: NginxTargets, args) -> dict:
    urls = nginx.urls
    results = {"ok": 0, "failed": 0, "errors": 0}
    idle_before = wait_quiet(args.quiet_wait)
    with Blackbox(timeout=args.timeout) as bb:
        rss = RssSampler(bb.pid).start()
        connector = aiohttp.TCPConnector(limit=0)
        headers = {"X-Prometheus-Scrape-Timeout-Seconds": f"{args.timeout + 1:g}"}
        async with aiohttp.ClientSession(connector=connector) as session:

            async def probe(k: int) -> None:
                params = {"target": urls[k % len(urls)], "module": "http_2xx"}
                try:
                    async with session.get(f"{bb.url}/probe", params=params, headers=headers) as resp:
                        body = await resp.text()
                except (aiohttp.ClientError, OSError):
                    results["errors"] += 1
                    return
                results["ok" if "\nprobe_success 1" in body else "failed"] += 1

            start = time.time() + 0.2
            ws, we = start + args.warmup, start + args.warmup + args.window
            driver = asyncio.create_task(paced(len(urls), args.interval, start, we + 1.0, probe))
            await sleep_until(ws)
            cpu0, ws = tree_cpu_seconds(bb.pid), time.time()
            bg = Background([bb.pid, nginx.pid])
            await sleep_until(we)
            cpu1, we = tree_cpu_seconds(bb.pid), time.time()
            background = bg.cores()
            await driver
        rss.stop()
        out = _window_result("blackbox", nginx, bb.pid, cpu0, cpu1, ws, we, rss, background, idle_before)
    out["driver"] = results
    return out


async def run_slakit(nginx: NginxTargets, args) -> dict:
    scrapes: list[_scrape.Scrape] = []
    idle_before = wait_quiet(args.quiet_wait)
    with Slakit(nginx.urls, args.interval, args.timeout) as sk:
        rss = RssSampler(sk.pid).start()
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            url = f"{sk.url}/metrics"

            async def do_scrape() -> None:
                scrapes.append(await _scrape.scrape(session, url))

            start = time.time() + 0.2
            ws, we = start + args.warmup, start + args.warmup + args.window
            # Regular scrapes every `scrape_every`, phased half a period into the window so the window holds
            # exactly window/scrape_every of them; counting scrapes happen just outside the window.
            phase = (ws + args.scrape_every / 2 - start) % args.scrape_every
            scraper = asyncio.create_task(every(args.scrape_every, start + phase, we, do_scrape))
            await sleep_until(ws - 0.5)
            before = await _scrape.scrape(session, url)
            await sleep_until(ws)
            cpu0, ws = tree_cpu_seconds(sk.pid), time.time()
            bg = Background([sk.pid, nginx.pid])
            await sleep_until(we)
            cpu1, we = tree_cpu_seconds(sk.pid), time.time()
            background = bg.cores()
            after = await _scrape.scrape(session, url)
            await scraper
        rss.stop()
        if not sk.alive():
            raise RuntimeError("slakit exporter died during the run\n" + sk.log_tail())
        out = _window_result("slakit", nginx, sk.pid, cpu0, cpu1, ws, we, rss, background, idle_before)
    in_window = [s for s in scrapes if ws <= s.start < we]
    out["scrapes_in_window"] = len(in_window)
    out["scrape_latency_max_ms"] = 1000 * max((s.latency for s in in_window), default=float("nan"))
    out["scrape_bytes_gzip"] = after.bytes_on_wire
    out["scrape_bytes"] = len(after.body)
    out["scrape_errors"] = sum(1 for s in scrapes if s.error or s.status != 200)
    out["exporter_probes_counted"] = _scrape.total(after.body, "slakit_probes_total") - _scrape.total(
        before.body, "slakit_probes_total"
    )
    out["probe_success_now"] = _scrape.total(after.body, "slakit_probe_success")
    out["probe_failures_total"] = _scrape.total(after.body, "slakit_probe_failures_total")
    return out


async def main_async(args) -> dict:
    sides: dict[str, dict] = {}
    with NginxTargets(args.targets) as nginx:
        if args.only in (None, "blackbox"):
            sides["blackbox"] = await run_blackbox(nginx, args)
        if args.only in (None, "slakit"):
            why = slakit_available()
            if why is None:
                sides["slakit"] = await run_slakit(nginx, args)
            else:
                sides["slakit"] = {"unavailable": why}
    return sides


def run(args) -> dict:
    sides = asyncio.run(main_async(args))
    rows: list[tuple] = []
    for name, side in sides.items():
        if "unavailable" in side:
            rows.append((f"{name}: unavailable", side["unavailable"]))
            continue
        rows += [
            (f"{name}: probes in window (nginx)", side["probes"]),
            (f"{name}: probes/s", side["probes_per_s"]),
            (
                f"{name}: targets / non-200 / reused conns",
                "{targets} / {non_200} / {reused_connection}".format(**side["nginx"]),
            ),
            (f"{name}: CPU s in window", side["cpu_s"]),
            (f"{name}: CPU s / 1000 probes", side["cpu_s_per_1000_probes"]),
            (f"{name}: max RSS MB", side["max_rss_mb"]),
            (f"{name}: other load in window (cores)", side["background_cores_in_window"]),
        ]
        if name == "blackbox":
            rows.append(
                ("blackbox: driver ok/failed/errors", "{ok}/{failed}/{errors}".format(**side["driver"]))
            )
        else:
            rows += [
                ("slakit: /metrics scrapes in window", side["scrapes_in_window"]),
                ("slakit: probes counted by exporter", side["exporter_probes_counted"]),
                (
                    "slakit: probe_success now / failures",
                    f"{side['probe_success_now']:g} / {side['probe_failures_total']:g}",
                ),
            ]
    data: dict = {"params": vars(args), "sides": sides}
    bb, sk = sides.get("blackbox", {}), sides.get("slakit", {})
    if "cpu_s_per_1000_probes" in bb and "cpu_s_per_1000_probes" in sk:
        ratio = sk["cpu_s_per_1000_probes"] / bb["cpu_s_per_1000_probes"]
        data["ratio_slakit_over_blackbox"] = ratio
        data["goal_met"] = ratio <= GOAL_RATIO
        rows.append(
            ("ratio slakit/blackbox", ratio, f"<= {GOAL_RATIO}", "yes" if ratio <= GOAL_RATIO else "NO")
        )
    print(
        table(
            f"exporter_cpu: {args.targets} targets, interval {args.interval:g}s, window {args.window:g}s",
            rows,
        )
    )
    noisy = [n for n, side in sides.items() if side.get("background_cores_in_window", 0) > NOISY_CORES]
    if noisy:
        print(f"WARNING: other processes loaded the machine during the {'/'.join(noisy)} window(s); re-run.")
    print(f"results: {save('exporter_cpu', data)}")
    return data
