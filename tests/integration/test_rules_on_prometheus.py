"""End to end on real components: exporter → Prometheus (Debian binary) → the generated rules.

The target is healthy, then down for exactly one whole minute, then healthy again. Each evaluation of
the generated 1m group must count exactly one minute — the minute starting two minutes before it — with
the outcome the exporter classified, under the month of America/New_York it belongs to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from slakit.exporter.minutes import minute_start
from slakit.rules.files import write_rules
from slakit.spec import load_spec
from slakit.spec.calendar import period_of, zone
from tests.exporter.procs import ExporterProcess, start_prometheus
from tests.exporter.targets import free_port, start_app
from tests.exporter.test_prometheus import safe_probe_name, wait_http

TZ = "America/New_York"


def spec_text(probe: str) -> str:
    local = datetime.now(zone(TZ))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"""\
version: 1
service: erp
calendar: {{timezone: {TZ}, table_start: "{year:04d}-{month:02d}", table_months: 3}}
slos:
  - name: uptime
    objective: {{good: "> 99%"}}
    sli: {{uptime: {{probes: [{probe}]}}}}
"""


async def api(session: aiohttp.ClientSession, prom: str, path: str, **params: str) -> list[dict]:
    async with session.get(prom + path, params=params) as resp:
        data = await resp.json()
    assert data["status"] == "success", data
    return data["data"]["result"]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_generated_rules_count_each_minute_once(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    while time.time() % 60 > 30:  # start early in a minute: m0 gets probes on both sides of its middle
        await asyncio.sleep(0.5)
    m0 = minute_start(time.time())
    m1, m2 = m0 + 60, m0 + 120  # m0 up (partly observed), m1 down, m2 up

    async def health(request: web.Request) -> web.Response:
        return web.Response(status=503 if minute_start(time.time()) == m1 else 200)

    app = web.Application()
    app.router.add_get("/health", health)
    runner, target_port = await start_app(app)

    probe = safe_probe_name()
    spec_file = tmp_path / "erp.yaml"
    spec_file.write_text(spec_text(probe))
    write_rules([load_spec(spec_file)], tmp_path / "rules", tests=False)
    config = tmp_path / "exporter.yaml"
    config.write_text(
        f"probes:\n  - name: {probe}\n    service: erp\n    url: http://127.0.0.1:{target_port}/health\n"
        "    interval: 2s\n    timeout: 1s\n"
    )
    exporter = ExporterProcess(config, free_port())
    prom_port = free_port()
    prom = f"http://127.0.0.1:{prom_port}"
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 5s, scrape_timeout: 4s}\n"
        f"rule_files: ['{tmp_path}/rules/*.rules.yml']\n"
        f"scrape_configs:\n  - job_name: slakit\n    static_configs: [{{targets: ['127.0.0.1:{exporter.url[17:]}']}}]\n"
    )
    proc = start_prometheus(tmp_path, prom_port)
    try:
        await exporter.wait_ready(session)
        await wait_http(session, prom + "/-/ready", proc)
        bad = 'slakit:slo_events_bad:1m{service="erp",slo="uptime"}'
        # Wait for the evaluation that counts m2 (at or after m2 + 2 min, at the group's phase).
        while True:
            result = await api(session, prom, "/api/v1/query", query=f"{bad}[15m]", time=f"{time.time():.3f}")
            stamps = [float(t) for t, _ in result[0]["values"]] if result else []
            if stamps and minute_start(stamps[-1]) - 120 >= m2:
                break
            assert time.time() < m2 + 300, (tmp_path / "prometheus.log").read_text()[-2000:]
            await asyncio.sleep(2)

        def by_counted_minute(rows: list[dict]) -> dict[float, float]:
            return {minute_start(float(t)) - 120: float(v) for t, v in rows[0]["values"]}

        bad_by_minute = by_counted_minute(result)
        known = await api(
            session,
            prom,
            "/api/v1/query",
            query='slakit:slo_events_total:1m{service="erp",slo="uptime"}[15m]',
            time=f"{stamps[-1]:.3f}",
        )
        known_by_minute = by_counted_minute(known)
        # Exactly one minute per evaluation, with the exporter's outcome.
        assert bad_by_minute[m0] == 0 and bad_by_minute[m1] == 1 and bad_by_minute[m2] == 0, bad_by_minute
        assert known_by_minute[m0] == known_by_minute[m1] == known_by_minute[m2] == 1, known_by_minute
        assert sum(bad_by_minute.values()) == 1

        # Everything the exporter closed up to the last counted minute was counted exactly once.
        at = f"{stamps[-1]:.3f}"
        exported = await api(
            session,
            prom,
            "/api/v1/query",
            query=f'sum(slakit_probe_minutes_total{{probe="{probe}"}} offset 1m)',
            time=at,
        )
        assert float(exported[0]["value"][1]) == sum(known_by_minute.values())

        # The counted minute is filed under its New York month, with its index and the month's length.
        elapsed = await api(session, prom, "/api/v1/query", query="slakit:slo_period:elapsed_minutes", time=at)
        minutes = await api(session, prom, "/api/v1/query", query="slakit:slo_period:minutes", time=at)
        counted = minute_start(stamps[-1]) - 120
        period = period_of(int(counted), zone(TZ))
        assert elapsed[0]["metric"]["period"] == period.label
        assert float(elapsed[0]["value"][1]) == (counted - period.start) // 60 + 1
        assert float(minutes[0]["value"][1]) == period.minutes
    finally:
        proc.terminate()
        proc.wait(10)
        exporter.stop()
        await runner.cleanup()
