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
import contextlib
import time

import aiohttp

from bench import _scrape
from bench._driver import every, paced, sleep_until
from bench._exporters import Blackbox, Slakit, slakit_available
from bench._nginx import NginxTargets, window_stats
from bench._proc import Background, RssSampler, add_machine_arguments, cpu_split, niceness, tree_cpu_seconds, wait_quiet
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
        "--concurrent",
        action="store_true",
        help="run both exporters at once in one window (same background noise for both; a cross-check)",
    )
    add_machine_arguments(parser, "before each side")


class BlackboxSide:
    """blackbox_exporter, loaded by the driver's `/probe` requests (each is a probe plus its rendering)."""

    name = "blackbox"

    def __init__(self, nginx: NginxTargets, args) -> None:
        self.nginx, self.args = nginx, args
        self.proc = Blackbox(timeout=args.timeout)
        self.results = {"ok": 0, "failed": 0, "errors": 0}

    async def load(self, session: aiohttp.ClientSession, start: float, ws: float, we: float) -> None:
        urls, results = self.nginx.urls, self.results
        headers = {"X-Prometheus-Scrape-Timeout-Seconds": f"{self.args.timeout + 1:g}"}

        async def probe(k: int) -> None:
            params = {"target": urls[k % len(urls)], "module": "http_2xx"}
            try:
                async with session.get(f"{self.proc.url}/probe", params=params, headers=headers) as resp:
                    body = await resp.text()
            except (aiohttp.ClientError, OSError):
                results["errors"] += 1
                return
            results["ok" if "\nprobe_success 1" in body else "failed"] += 1

        # Its own session: Prometheus' Accept-Encoding (gzip), decompressed; no connection limit.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await paced(len(urls), self.args.interval, start, we + 1.0, probe)

    async def before(self, session) -> None:
        pass

    async def after(self, session) -> None:
        pass

    def extra(self, ws: float, we: float) -> dict:
        return {"driver": self.results}


class SlakitSide:
    """slakit's exporter probing on its own schedule; the driver scrapes /metrics like Prometheus."""

    name = "slakit"

    def __init__(self, nginx: NginxTargets, args) -> None:
        self.nginx, self.args = nginx, args
        self.proc = Slakit(nginx.urls, args.interval, args.timeout)
        self.scrapes: list[_scrape.Scrape] = []
        self.first = self.last = None

    async def load(self, session: aiohttp.ClientSession, start: float, ws: float, we: float) -> None:
        url, every_s = f"{self.proc.url}/metrics", self.args.scrape_every

        async def do_scrape() -> None:
            self.scrapes.append(await _scrape.scrape(session, url))

        # Regular scrapes every `scrape_every`, phased half a period into the window so the window holds
        # exactly window/scrape_every of them; the counting scrapes happen just outside the window.
        phase = (ws + every_s / 2 - start) % every_s
        await every(every_s, start + phase, we, do_scrape)

    async def before(self, session) -> None:
        self.first = await _scrape.scrape(session, f"{self.proc.url}/metrics")

    async def after(self, session) -> None:
        self.last = await _scrape.scrape(session, f"{self.proc.url}/metrics")
        if not self.proc.alive():
            raise RuntimeError("slakit exporter died during the run\n" + self.proc.log_tail())

    def extra(self, ws: float, we: float) -> dict:
        in_window = [s for s in self.scrapes if ws <= s.start < we]
        first, last = self.first.body, self.last.body
        return {
            "scrapes_in_window": len(in_window),
            "scrape_latency_max_ms": 1000 * max((s.latency for s in in_window), default=float("nan")),
            "scrape_bytes_gzip": self.last.bytes_on_wire,
            "scrape_bytes": len(last),
            "scrape_errors": sum(1 for s in self.scrapes if s.error or s.status != 200),
            "exporter_probes_counted": _scrape.total(last, "slakit_probes_total")
            - _scrape.total(first, "slakit_probes_total"),
            "probe_success_now": _scrape.total(last, "slakit_probe_success"),
            "probe_failures_total": _scrape.total(last, "slakit_probe_failures_total"),
        }


async def measure(nginx: NginxTargets, args, sides: list) -> dict[str, dict]:
    """Start `sides` together, warm up, account one window for each of them, stop them."""
    idle_before = wait_quiet(args.quiet_wait)
    with contextlib.ExitStack() as stack:
        for side in sides:
            stack.enter_context(side.proc)
        rss = {side.name: RssSampler(side.proc.pid).start() for side in sides}
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            start = time.time() + 0.2
            ws, we = start + args.warmup, start + args.warmup + args.window
            loads = [asyncio.create_task(side.load(session, start, ws, we)) for side in sides]
            await sleep_until(ws - 0.5)
            for side in sides:
                await side.before(session)
            await sleep_until(ws)
            split0 = {side.name: cpu_split(side.proc.pid) for side in sides}
            cpu0 = {side.name: tree_cpu_seconds(side.proc.pid) for side in sides}
            ws = time.time()
            bg = Background([*(side.proc.pid for side in sides), nginx.pid])
            await sleep_until(we)
            cpu1 = {side.name: tree_cpu_seconds(side.proc.pid) for side in sides}
            split1 = {side.name: cpu_split(side.proc.pid) for side in sides}
            we = time.time()
            background = bg.cores()
            for side in sides:
                await side.after(session)
            await asyncio.gather(*loads)
        for sampler in rss.values():
            sampler.stop()
    requests = nginx.requests()
    out: dict[str, dict] = {}
    for side in sides:
        seen = window_stats(requests, ws, we, agent=side.name)
        cpu = cpu1[side.name] - cpu0[side.name]
        out[side.name] = {
            "exporter": side.name,
            "concurrent_with": [s.name for s in sides if s is not side],
            "busy_cores_before_start": idle_before,
            "background_cores_in_window": background,
            "window_s": we - ws,
            "nginx": seen,
            "probes": seen["requests"],
            "probes_per_s": seen["requests"] / (we - ws),
            "cpu_s": cpu,
            # user = the exporter's own code (and its runtime); system = kernel: on loopback the TCP
            # handshake and delivery to nginx are processed in the prober's connect()/send() calls
            "cpu_user_s": split1[side.name][0] - split0[side.name][0],
            "cpu_system_s": split1[side.name][1] - split0[side.name][1],
            "cpu_s_per_1000_probes": 1000 * cpu / seen["requests"] if seen["requests"] else float("nan"),
            "max_rss_mb": rss[side.name].max_between(ws, we) / 2**20,
            **side.extra(ws, we),
        }
    return out


async def main_async(args) -> dict:
    sides: dict[str, dict] = {}
    with NginxTargets(args.targets) as nginx:
        wanted = []
        if args.only in (None, "blackbox"):
            wanted.append(BlackboxSide(nginx, args))
        if args.only in (None, "slakit"):
            why = slakit_available()
            if why is None:
                wanted.append(SlakitSide(nginx, args))
            else:
                sides["slakit"] = {"unavailable": why}
        if args.concurrent:
            sides.update(await measure(nginx, args, wanted))
        else:
            for side in wanted:
                sides.update(await measure(nginx, args, [side]))
    return sides


def run(args) -> dict:
    with niceness(args.nice):
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
            (
                f"{name}: CPU s in window (user / system)",
                f"{side['cpu_s']:.2f} ({side['cpu_user_s']:.2f} / {side['cpu_system_s']:.2f})",
            ),
            (f"{name}: CPU s / 1000 probes", side["cpu_s_per_1000_probes"]),
            (f"{name}: max RSS MB", side["max_rss_mb"]),
            (f"{name}: other load in window (cores)", side["background_cores_in_window"]),
        ]
        if name == "blackbox":
            rows.append(("blackbox: driver ok/failed/errors", "{ok}/{failed}/{errors}".format(**side["driver"])))
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
        rows.append(("ratio slakit/blackbox", ratio, f"<= {GOAL_RATIO}", "yes" if ratio <= GOAL_RATIO else "NO"))
    print(
        table(
            f"exporter_cpu: {args.targets} targets, interval {args.interval:g}s, window {args.window:g}s, "
            f"{'concurrent' if args.concurrent else 'sequential'}",
            rows,
        )
    )
    noisy = [n for n, side in sides.items() if side.get("background_cores_in_window", 0) > NOISY_CORES]
    if noisy:
        print(f"WARNING: other processes loaded the machine during the {'/'.join(noisy)} window(s); re-run.")
    print(f"results: {save('exporter_cpu', data)}")
    return data
