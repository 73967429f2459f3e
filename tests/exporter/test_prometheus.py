"""Integration: the Debian `prometheus` binary scrapes a running exporter through a proxy that fails one
scrape; the minute counters in Prometheus still equal the minutes the test made up or down."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from slakit.exporter.config import ProbeConfig
from slakit.exporter.minutes import minute_start
from slakit.exporter.runtime import phase
from tests.exporter.procs import ExporterProcess, start_prometheus
from tests.exporter.targets import free_port, start_app

INTERVAL = 2  # seconds; divides 60, so every minute has the same probe start times


def safe_probe_name() -> str:
    """A probe name whose start times stay >= 0.4 s away from every minute boundary."""
    for i in range(1000):
        name = f"sla-{i}"
        p = ProbeConfig.model_validate(
            {
                "name": name,
                "service": "erp",
                "url": "http://127.0.0.1/",
                "interval": f"{INTERVAL}s",
                "timeout": "1s",
            }
        )
        if 0.4 <= phase(p) <= INTERVAL - 0.4:
            return name
    raise AssertionError("no safe name")


class Proxy:
    """Forwards /metrics to the exporter; fails the first scrape that arrives at or after `fail_after`."""

    def __init__(self, upstream: str, fail_after: float, pass_accept: bool) -> None:
        self.upstream = upstream
        self.pass_accept = pass_accept
        self.fail_after = fail_after
        self.scrapes: list[tuple[float, int]] = []
        self.content_types: set[str] = set()
        self.session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        now = time.time()
        if now >= self.fail_after and not any(status == 503 for _, status in self.scrapes):
            self.scrapes.append((now, 503))
            return web.Response(status=503, text="scrape deliberately missed\n")
        assert self.session is not None
        # Accept is passed on (Prometheus asks for OpenMetrics); the client session decompresses the
        # body, so it is sent on uncompressed.
        # Without Accept the exporter answers in the text format (timestamps in ms).
        headers = {k: v for k, v in request.headers.items() if k.lower() == "accept" and self.pass_accept}
        async with self.session.get(self.upstream + "/metrics", headers=headers) as resp:
            body = await resp.read()
            out = web.Response(status=resp.status, body=body)
            out.headers["Content-Type"] = resp.headers["Content-Type"]
            self.content_types.add(resp.headers["Content-Type"])
        self.scrapes.append((now, resp.status))
        return out


async def wait_http(session: aiohttp.ClientSession, url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    for _ in range(int(timeout * 10)):
        assert proc.poll() is None, f"process exited with {proc.returncode}"
        try:
            async with session.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} not ready")


async def query(session: aiohttp.ClientSession, prom: str, expr: str, at: float) -> dict[str, float]:
    """Instant query at `at` → {outcome or '': value}."""
    async with session.get(prom + "/api/v1/query", params={"query": expr, "time": f"{at:.3f}"}) as resp:
        data = await resp.json()
    assert data["status"] == "success", data
    return {r["metric"].get("outcome", ""): float(r["value"][1]) for r in data["data"]["result"]}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


CONTENT_TYPES = {
    "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
    "text": "text/plain; version=0.0.4; charset=utf-8",
}


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_prometheus_counts_the_minutes_despite_a_missed_scrape(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """One exporter, scraped by one Prometheus through two proxies (= two jobs): `openmetrics` passes
    Prometheus' Accept header on, `text` drops it so the exporter answers in the text format."""
    # Start early enough in a minute that Prometheus scrapes the initial (0, start of minute) sample first.
    while time.time() % 60 > 35:
        await asyncio.sleep(0.5)
    m0 = minute_start(time.time())
    m1, b2 = m0 + 60, m0 + 120  # minute m0 is up (partly observed), minute m1 is down; b2 ends m1
    answers: list[tuple[float, int]] = []

    async def sla(request: web.Request) -> web.Response:
        now = time.time()
        status = 503 if minute_start(now) == m1 else 200
        answers.append((now, status))
        return web.Response(status=status, text="erp\n")

    target = web.Application()
    target.router.add_get("/sla", sla)
    target_runner, target_port = await start_app(target)
    runners = [target_runner]

    name = safe_probe_name()
    config = tmp_path / "exporter.yaml"
    config.write_text(
        "location: lab\nprobes:\n"
        f"  - name: {name}\n    service: erp\n    url: http://127.0.0.1:{target_port}/sla\n"
        f"    interval: {INTERVAL}s\n    timeout: 1s\n"
    )
    exporter = ExporterProcess(config, free_port())

    proxies: dict[str, Proxy] = {}
    jobs = ""
    for job in CONTENT_TYPES:
        proxy = proxies[job] = Proxy(exporter.url, fail_after=m1, pass_accept=job == "openmetrics")
        proxy.session = session
        proxy_app = web.Application()
        proxy_app.router.add_get("/metrics", proxy.handle)
        runner, proxy_port = await start_app(proxy_app)
        runners.append(runner)
        jobs += (
            f"  - job_name: {job}\n    honor_timestamps: true\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{proxy_port}']\n"
        )

    prom_port = free_port()
    prom_url = f"http://127.0.0.1:{prom_port}"
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\nscrape_configs:\n" + jobs
    )
    prom = start_prometheus(tmp_path, prom_port)
    try:
        await exporter.wait_ready(session)
        await wait_http(session, prom_url + "/-/ready", prom)

        # Wait until Prometheus has ingested, for both jobs, the sample that closes m1 (stamped b2).
        sel = {
            job: f'slakit_probe_minutes_total{{job="{job}",location="lab",service="erp",probe="{name}"}}'
            for job in CONTENT_TYPES
        }
        deadline = b2 + 40
        for job, selector in sel.items():
            while True:
                values = await query(session, prom_url, selector, b2) if time.time() > b2 else {}
                if values.get("down") == 1:
                    break
                assert time.time() < deadline, (
                    f"{job}: Prometheus never saw minute m1 closed; last answer {values}; "
                    f"scrapes {proxies[job].scrapes}; up: {await query(session, prom_url, 'up', time.time())}"
                )
                await asyncio.sleep(1)

        # What the test knows: m0 had successes only, m1 failures only.
        assert {s for t, s in answers if minute_start(t) == m0} == {200}
        assert {s for t, s in answers if minute_start(t) == m1} == {503}

        for job, selector in sel.items():
            proxy = proxies[job]
            # One scrape was missed, right after m0 closed, and Prometheus noticed it.
            failed = [t for t, status in proxy.scrapes if status == 503]
            assert len(failed) == 1 and m1 <= failed[0] < m1 + 10, job
            assert {status for _, status in proxy.scrapes} == {200, 503}
            assert proxy.content_types == {CONTENT_TYPES[job]}
            assert (await query(session, prom_url, f'min_over_time(up{{job="{job}"}}[3m])', b2 + 5)) == {"": 0.0}

            assert await query(session, prom_url, selector, b2) == {"up": 1.0, "down": 1.0}
            assert await query(session, prom_url, selector, m1) == {"up": 1.0, "down": 0.0}
            # increase() over exactly the closed minutes: samples sit on both range ends, no extrapolation
            assert await query(session, prom_url, f"increase({selector}[2m])", b2) == {"up": 1.0, "down": 1.0}
            assert await query(session, prom_url, f"increase({selector}[1m])", b2) == {"up": 0.0, "down": 1.0}
            # the rule generator's form: the minute that ended 1m ago, whenever the rule is evaluated
            for at in (b2 + 60, b2 + 61.5, b2 + 89):
                assert await query(session, prom_url, f"{selector} offset 1m - {selector} offset 2m", at) == {
                    "up": 0.0,
                    "down": 1.0,
                }, (job, at)
    finally:
        prom.terminate()
        try:
            prom.wait(15)
        except subprocess.TimeoutExpired:
            prom.kill()
        assert exporter.stop() == 0
        for runner in runners:
            await runner.cleanup()
