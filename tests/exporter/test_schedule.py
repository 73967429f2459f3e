"""Schedules: deterministic spread start times, real-time probing, the minute timer, event loop lag."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from slakit.exporter.config import ExporterConfig, ProbeConfig
from slakit.exporter.minutes import minute_start
from slakit.exporter.runtime import Exporter, next_slot, phase
from tests.exporter.conftest import Samples, Targets


def probe(name: str, interval: str = "15s", url: str = "http://127.0.0.1:1/") -> ProbeConfig:
    return ProbeConfig.model_validate(
        {"name": name, "service": "s", "url": url, "interval": interval, "timeout": "100ms"}
    )


def test_phase_is_deterministic_and_spread() -> None:
    assert phase(probe("a")) == phase(probe("a"))
    phases = [phase(probe(f"p{i}")) for i in range(1500)]
    assert all(0 <= p < 15 for p in phases)
    per_second = Counter(int(p) for p in phases)
    assert sorted(per_second) == list(range(15))
    assert min(per_second.values()) > 60  # ~100 each: no clumping at the start of the interval


def test_next_slot_is_on_the_probe_grid_and_strictly_after_now() -> None:
    p = probe("grid", interval="10s")
    now = 1_795_449_000.0
    for offset in (0.0, 0.001, 3.3, 9.999, 10.0, 123.4):
        slot = next_slot(p, now + offset)
        assert now + offset < slot <= now + offset + 10
        assert abs(((slot - phase(p)) / 10) - round((slot - phase(p)) / 10)) < 1e-6


async def test_probes_run_on_their_own_interval(targets: Targets) -> None:
    config = ExporterConfig.model_validate(
        {
            "probes": [
                {
                    "name": "fast",
                    "service": "s",
                    "url": targets.http + "/ok",
                    "interval": "200ms",
                    "timeout": "100ms",
                }
            ]
        }
    )
    exporter = Exporter()
    await exporter.start(config)
    await asyncio.sleep(1.25)
    s = Samples(exporter.render().decode())
    await exporter.stop()
    n = s.get("slakit_probes_total", service="s", probe="fast")
    assert 3 <= n <= 7  # 6 on an idle machine; starts missed under heavy load are skipped, never bunched
    assert targets.hits["/ok"] == n
    assert s.get("slakit_exporter_schedule_lag_seconds_count") == n
    assert s.get("slakit_exporter_schedule_lag_seconds_bucket", le="0.25") == n
    assert s.get("slakit_exporter_event_loop_lag_seconds_count") >= 10
    assert s.get("slakit_exporter_probes_in_flight") == 0


async def test_minute_timer_closes_the_minute_at_the_boundary(targets: Targets) -> None:
    # A clock 0.6 s before a minute boundary, running at real speed.
    offset = (minute_start(time.time()) + 120 - 0.6) - time.time()
    exporter = Exporter(clock=lambda: time.time() + offset)
    config = ExporterConfig.model_validate(
        {
            "probes": [
                {
                    "name": "p",
                    "service": "s",
                    "url": targets.http + "/status/503",
                    "interval": "10s",
                    "timeout": "1s",
                }
            ]
        }
    )
    await exporter.start(config)
    boundary = minute_start(exporter.clock()) + 60
    await exporter.probe_once(("s", "p"))
    labels = {"service": "s", "probe": "p"}
    s = Samples(exporter.render().decode())
    assert s.get("slakit_probe_minutes_total", outcome="down", **labels) == 0
    await asyncio.sleep(0.9)
    s = Samples(exporter.render().decode())
    await exporter.stop()
    assert s.get("slakit_probe_minutes_total", outcome="down", **labels) == 1
    assert s.get("slakit_probe_minutes_total", outcome="up", **labels) == 0
    assert s.stamp("slakit_probe_minutes_total", outcome="down", **labels) == str(boundary * 1000)
    assert s.get("slakit_exporter_last_minute_closed_timestamp_seconds") == boundary


async def test_event_loop_lag_is_measured() -> None:
    exporter = Exporter()
    await exporter.start(ExporterConfig.model_validate({"probes": []}))
    await asyncio.sleep(0.15)
    time.sleep(0.3)  # block the loop on purpose
    await asyncio.sleep(0.15)
    s = Samples(exporter.render().decode())
    await exporter.stop()
    assert s.get("slakit_exporter_event_loop_lag_seconds_bucket", le="0.1") < s.get(
        "slakit_exporter_event_loop_lag_seconds_count"
    )
    assert s.get("slakit_exporter_event_loop_lag_seconds_sum") >= 0.25


async def test_probing_survives_the_wall_clock_stepping_back(targets: Targets) -> None:
    offset = [0.0]
    exporter = Exporter(clock=lambda: time.time() + offset[0])
    config = ExporterConfig.model_validate(
        {
            "probes": [
                {
                    "name": "p",
                    "service": "s",
                    "url": targets.http + "/ok",
                    "interval": "200ms",
                    "timeout": "100ms",
                }
            ]
        }
    )
    await exporter.start(config)
    await asyncio.sleep(0.5)
    offset[0] = -3600.0  # NTP steps the clock back an hour
    before = exporter.series[("s", "p")].probes
    await asyncio.sleep(1.0)
    after = exporter.series[("s", "p")].probes
    await exporter.stop()
    assert before >= 2
    assert after - before >= 3  # still probing every 200 ms, not sleeping for an hour
