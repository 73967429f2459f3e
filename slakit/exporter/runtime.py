"""The exporter's runtime: probe schedules, the minute timer, reloads and self-metrics, on one event loop."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client.utils import floatToGoString

from slakit import __version__
from slakit.errors import InputError, Problem
from slakit.exporter import exposition
from slakit.exporter.config import ExporterConfig, ProbeConfig, load_config
from slakit.exporter.exposition import Family, ProbeSeries, SimpleHistogram
from slakit.exporter.listeners import Endpoints
from slakit.exporter.minutes import MINUTE, minute_start
from slakit.exporter.probers import Prober, ProbeResult, build_prober, run_with_deadline
from slakit.exporter.probers.http import make_client
from slakit.exporter.sources.runner import SourceSet
from slakit.exporter.tickets import TicketDesk, ticket_event_model
from slakit.exporter.traffic import TrafficCounters

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("slakit.exporter")
Key = tuple[str, str]

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
RELOAD_OK = Family(
    "slakit_exporter_config_last_reload_successful", "gauge", "Whether the last config (re)load succeeded."
)
RELOAD_TS = Family(
    "slakit_exporter_config_last_reload_success_timestamp_seconds",
    "gauge",
    "Time of the last successful config (re)load.",
)
IN_FLIGHT = Family("slakit_exporter_probes_in_flight", "gauge", "Probes running right now.")
SCHEDULE_LAG = Family(
    "slakit_exporter_schedule_lag_seconds", "histogram", "How late probes started after their scheduled time."
)
LAST_MINUTE = Family(
    "slakit_exporter_last_minute_closed_timestamp_seconds",
    "gauge",
    "End of the last minute the exporter closed (Unix seconds).",
)
LOOP_LAG = Family(
    "slakit_exporter_event_loop_lag_seconds",
    "histogram",
    "How late a 20 ms timer fired: time the event loop was blocked (a stall is seen to within 20 ms).",
)
BUILD_INFO = Family("slakit_exporter_build_info", "info", "slakit exporter version.")


def phase(config: ProbeConfig) -> float:
    """Deterministic start offset within the interval, from a hash of the probe's identity."""
    digest = hashlib.sha256(f"{config.service}\0{config.name}".encode()).digest()
    interval_ms = max(1, round(config.interval * 1000))
    return (int.from_bytes(digest[:8], "big") % interval_ms) / 1000


def next_slot(config: ProbeConfig, now: float) -> float:
    """The first scheduled start strictly after `now`: starts are phase + k * interval (Unix time)."""
    p, interval = phase(config), config.interval
    k = (now - p) // interval + 1
    return p + k * interval


class Exporter:
    def __init__(self, config_path: str | Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config_path = config_path
        self.clock = clock
        self.config: ExporterConfig | None = None
        self.series: dict[Key, ProbeSeries] = {}
        self.probers: dict[Key, Prober] = {}
        self.tasks: dict[Key, asyncio.Task[None]] = {}
        self.client: aiohttp.ClientSession | None = None
        self.ready = False
        self.running = False
        self.reload_ok = 0
        self.reload_ts = 0.0
        self.in_flight = 0
        self.schedule_lag = SimpleHistogram(SCHEDULE_LAG, LAG_BUCKETS)
        self.loop_lag = SimpleHistogram(LOOP_LAG, LAG_BUCKETS)
        self.traffic = TrafficCounters()  # fed by log sources and the events API
        self.tickets = TicketDesk(clock)  # support ticket books, fed by the events API and `tickets` sources
        self.sources = SourceSet(self.traffic, str(config_path or "config"), self.tickets.apply)  # log files
        self.endpoints = Endpoints(self.traffic, clock)  # webhook receiver + events API
        self.endpoints.events.registry.register(
            "ticket", ticket_event_model(self.tickets), lambda e: self.tickets.apply(e.service, e.book_event())
        )
        self.last_minute_closed = float(minute_start(clock()))
        self._background: list[asyncio.Task[None]] = []
        self._reload_lock = asyncio.Lock()

    # -- life cycle -------------------------------------------------------------------------------------

    async def start(self, config: ExporterConfig | None = None, schedule: bool = True) -> None:
        """Load the config (if not given), create the series and start every schedule."""
        if config is None:
            assert self.config_path is not None
            config = load_config(self.config_path)
        if self.client is None:
            self.client = make_client()
        self.running = schedule
        self.apply(config)
        self.reload_ok, self.reload_ts = 1, self.clock()
        await self.endpoints.start()
        if schedule:
            self._background = [
                asyncio.create_task(self._minute_timer(), name="minute-timer"),
                asyncio.create_task(self._loop_lag_monitor(), name="loop-lag"),
            ]
        self.ready = True
        log.info("exporter started with %d probes", len(self.series))

    async def stop(self) -> None:
        self.ready = False
        tasks = [*self.tasks.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
        self._background.clear()
        await self.sources.stop()
        self.tickets.close()
        await self.endpoints.stop()
        if self.client is not None:
            await self.client.close()
            self.client = None

    # -- configuration ----------------------------------------------------------------------------------

    def apply(self, config: ExporterConfig) -> None:
        """Switch to `config`: keep the series of probes whose identity (service, name) stays, drop the
        removed ones, add new ones at 0; restart the schedule of every probe whose definition changed."""
        assert self.client is not None
        now = self.clock()
        new_keys = {p.key: p for p in config.probes}
        self.endpoints.prepare(config, str(self.config_path or "config"))  # InputError: nothing changed yet
        self.sources.prepare(config.sources, config.state_dir)  # InputError (state_dir): nothing changed yet
        self.tickets.prepare(config.support_tickets, config.state_dir, str(self.config_path or "config"))
        # Build every new prober first: if one fails (say an unreadable client key), nothing has changed yet.
        fresh: dict[Key, Prober] = {}
        for i, (key, probe) in enumerate(new_keys.items()):
            existing = self.series.get(key)
            prober = self.probers.get(key)
            if existing is None or probe != existing.config or prober is None or prober.stale():
                try:
                    fresh[key] = build_prober(probe, self.client, self.endpoints.hub)
                except (ssl.SSLError, OSError, ValueError) as exc:
                    source = str(self.config_path or "config")
                    message = f"cannot set up the probe: {exc}"
                    raise InputError(Problem(source, message, field=f"probes[{i}]")) from None
        for key in [k for k in self.series if k not in new_keys]:
            self._stop_task(key)
            del self.series[key]
            self.probers.pop(key, None)
        series: dict[Key, ProbeSeries] = {}
        for key, probe in new_keys.items():
            buckets = config.buckets_for(probe)
            existing = self.series.get(key)
            if existing is None:
                s = ProbeSeries(probe, config.location, buckets, now)
            else:
                s = existing
                if probe != s.config or config.location != s.location or tuple(buckets) != s.buckets:
                    s.update_definition(probe, config.location, buckets)
            series[key] = s
            if key in fresh:
                self._stop_task(key)
                self.probers[key] = fresh[key]
                if self.running:
                    self.tasks[key] = asyncio.create_task(self._probe_loop(key), name=f"probe {key}")
        self.series = series  # keeps the config's order in the exposition
        self.endpoints.commit()
        self.tickets.commit()  # before the sources, which may hand it events as soon as they run
        self.sources.apply(config.sources, self.running)
        self.config = config

    async def reload(self) -> tuple[bool, str]:
        """Re-read the config file. On error keep running the old config, set the gauge to 0."""
        async with self._reload_lock:
            assert self.config_path is not None
            try:
                config = await asyncio.get_running_loop().run_in_executor(None, load_config, self.config_path)
            except InputError as exc:
                self.reload_ok = 0
                log.error("config reload failed, keeping the running config: %s", exc)
                return False, str(exc)
            except Exception as exc:
                self.reload_ok = 0
                log.exception("config reload failed, keeping the running config")
                return False, f"{type(exc).__name__}: {exc}"
            try:
                self.apply(config)
            except InputError as exc:  # e.g. an unreadable client certificate: nothing was changed
                self.reload_ok = 0
                log.error("config reload failed, keeping the running config: %s", exc)
                return False, str(exc)
            except Exception as exc:
                self.reload_ok = 0
                log.exception("config reload failed while applying it; probes may be partly updated")
                return False, f"{type(exc).__name__}: {exc}"
            self.reload_ok, self.reload_ts = 1, self.clock()
            log.info("config reloaded: %d probes", len(self.series))
            return True, f"config reloaded: {len(self.series)} probes"

    def _stop_task(self, key: Key) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            task.cancel()

    # -- probing ----------------------------------------------------------------------------------------

    async def probe_once(self, key: Key) -> ProbeResult:
        """Run one probe now and account for it (the schedule loop does exactly this)."""
        series, prober = self.series[key], self.probers[key]
        self.in_flight += 1
        try:
            result = await run_with_deadline(prober, series.config.timeout)
        finally:
            self.in_flight -= 1
        if self.series.get(key) is series:  # not removed by a reload meanwhile
            series.observe(result, self.clock())
        if not result.success:
            log.debug("probe %s/%s failed: %s: %s", key[0], key[1], result.reason, result.detail)
        return result

    async def _probe_loop(self, key: Key) -> None:
        config = self.series[key].config
        slot = next_slot(config, self.clock())
        while True:
            await asyncio.sleep(min(config.interval, max(0.0, slot - self.clock())))
            now = self.clock()
            if slot - now > config.interval:  # the wall clock stepped back: rejoin the grid from now
                slot = next_slot(config, now)
                continue
            if now < slot:  # woke a little early (clock granularity): wait for the slot itself
                continue
            self.schedule_lag.observe(now - slot)
            try:
                await self.probe_once(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("probe %s/%s crashed; not counted", *key)
            slot += config.interval
            now = self.clock()
            if slot <= now:  # overran or paused: skip the missed starts, never burst
                slot = next_slot(config, now)

    def close_minutes(self, now: float) -> None:
        for s in self.series.values():
            s.close_minutes(now)
        self.last_minute_closed = float(minute_start(now))

    async def _minute_timer(self) -> None:
        while True:
            boundary = minute_start(self.clock()) + MINUTE
            while (now := self.clock()) < boundary:
                await asyncio.sleep(boundary - now)
            self.close_minutes(now)

    async def _loop_lag_monitor(self, period: float = 0.02) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(period)
            self.loop_lag.observe(loop.time() - start - period)

    # -- exposition ---------------------------------------------------------------------------------------

    def self_metrics(self, openmetrics: bool) -> list[str]:
        def gauge(family: Family, value: float) -> str:
            return f"{family.header(openmetrics)}{family.name} {floatToGoString(value)}\n"

        return [
            gauge(RELOAD_OK, self.reload_ok),
            gauge(RELOAD_TS, self.reload_ts),
            gauge(IN_FLIGHT, self.in_flight),
            SCHEDULE_LAG.header(openmetrics) + self.schedule_lag.render(),
            gauge(LAST_MINUTE, self.last_minute_closed),
            LOOP_LAG.header(openmetrics) + self.loop_lag.render(),
            f'{BUILD_INFO.header(openmetrics)}{BUILD_INFO.name}{{version="{__version__}"}} 1\n',
            *self.traffic.render(openmetrics),
            *self.endpoints.render(openmetrics),
            *self.sources.render(openmetrics),
            *self.tickets.render(openmetrics),
        ]

    def render(self, openmetrics: bool = False) -> bytes:
        return exposition.render(self.series.values(), self.self_metrics, openmetrics)
