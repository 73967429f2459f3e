"""The scripted demo: steady traffic, a 100 % 5xx burst that pages, recovery and the resolved notification.

`Demo` owns every piece (fake API, traffic, receiver, exporter, Prometheus, Alertmanager) and is used both by
`slakit demo` and by the end-to-end test, so the test runs exactly what the demo shows.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from slakit.alertmanager import Timing
from slakit.demo import backfill, history
from slakit.demo.fake_api import FakeApi, FaultAdmin
from slakit.demo.receiver import Notification, Receiver
from slakit.demo.stack import Stack, binary, exporter_config, prometheus_config
from slakit.demo.traffic import Traffic
from slakit.spec import load_spec
from slakit.spec.model import Spec

DEMO_SPEC = Path(__file__).with_name("erp-api.demo.yaml")
DEMO_TIMING = Timing(group_wait="10s", group_interval="30s", page_repeat="1h", ticket_repeat="1h")
HISTORY_DAYS = 30


def is_page(slo: str, status: str) -> Callable[[Notification], bool]:
    """Matches a pager notification holding SlakitErrorBudgetBurn for `slo` with that alert in `status`.

    The alert's own status, not the group's: a group stays `firing` while another alert in it still fires.
    """

    def match(n: Notification) -> bool:
        return n.receiver == "pager" and any(
            a.name == "SlakitErrorBudgetBurn" and a.labels.get("slo") == slo and a.status == status for a in n.alerts
        )

    return match


class Demo:
    """Start with `await start()`, drive with `burst()`/`recover()`, always `await stop()`."""

    def __init__(
        self,
        workdir: Path,
        spec_path: Path = DEMO_SPEC,
        rate: float = 20.0,
        timing: Timing = DEMO_TIMING,
        say: Callable[[str], None] | None = None,
        scrape_interval: str = "15s",
    ) -> None:
        self.workdir = workdir
        self.spec: Spec = load_spec(spec_path)
        self.timing, self.scrape_interval = timing, scrape_interval
        self.stack = Stack(workdir)
        self.api = FakeApi(workdir / "logs" / "access.log", workdir / "logs" / "webhooks.log")
        self.admin = FaultAdmin(self.api)
        self.traffic: Traffic | None = None
        self.rate = rate
        self.receiver = Receiver(self._notified)
        self._say = say
        self._watchdog_seen = False

    def say(self, text: str) -> None:
        if self._say is not None:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            self._say(f"[{stamp}Z] {text}")

    def _notified(self, n: Notification) -> None:
        if n.receiver == "deadmansswitch":
            if not self._watchdog_seen:
                self.say("notification  deadmansswitch: SlakitWatchdog arrives (the pipeline works; repeats hidden)")
            self._watchdog_seen = True
            return
        self.say(f"notification  {n.describe()}")

    def backfill(self) -> None:
        """A month of synthetic history up to the previous minute boundary, before Prometheus starts."""
        started = time.monotonic()
        end = int(time.time()) // 60 * 60 - 60
        minutes = history.synthetic_minutes(HISTORY_DAYS * 1440, rate=int(self.rate * 60))
        target = {"job": "slakit", "instance": f"127.0.0.1:{self.stack.ports.exporter}"}
        samples = backfill.backfill(
            self.spec,
            minutes,
            end,
            self.stack.prometheus_data,
            self.workdir / "backfill",
            target,
            binary("promtool"),
        )
        self.say(
            f"backfilled {HISTORY_DAYS} days of history ({samples:,} samples: raw series and recorded SLO series) "
            f"in {time.monotonic() - started:.0f}s"
        )

    async def start(self, with_backfill: bool = True) -> None:
        await self.prepare(with_backfill)
        await self.launch()

    async def prepare(self, with_backfill: bool = True) -> None:
        """The API, its traffic and the receiver running; rules and configs written; history backfilled."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        await self.receiver.start()
        await self.api.start()
        await self.admin.start()
        self.traffic = Traffic(self.api.url, self.rate)
        self.traffic.start()
        logs = self.api.access_log_path.parent
        self.say(
            f"fake ERP API  {self.api.url}, {self.rate:g} requests/s of traffic; access and webhook logs in {logs}"
        )
        self.say(f"fault admin   {self.admin.url}  (GET shows the faults, POST JSON sets them)")
        stack = self.stack
        stack.write_rules([self.spec])
        if with_backfill:
            await asyncio.to_thread(self.backfill)
        urls = {name: self.receiver.url(name) for name in ("pager", "ticket", "deadmansswitch")}
        stack.write_alertmanager_config([self.spec], urls, self.timing)
        stack.write_yaml(
            "exporter.yml",
            exporter_config(
                self.workdir / "exporter-state",
                self.api.url + "/health",
                self.api.access_log_path,
                self.api.webhook_log_path,
            ),
        )
        stack.write_yaml("prometheus.yml", prometheus_config(stack.rules_dir, stack.ports, self.scrape_interval))

    async def launch(self) -> None:
        """The exporter, Alertmanager and Prometheus, on the files `prepare` wrote."""
        stack = self.stack
        await stack.start_exporter(self.workdir / "exporter.yml")
        await stack.start_alertmanager(self.workdir / "alertmanager.yml")
        await stack.start_prometheus(self.workdir / "prometheus.yml")
        self.say(f"exporter      {stack.exporter_url}/metrics")
        self.say(f"Prometheus    {stack.prometheus_url}/alerts  (retention 100d, rules in {stack.rules_dir})")
        for expr, window in (("slakit:slo_budget:remaining_ratio", "30d"), ("slakit:slo_burn_rate:2m", "1h")):
            query = urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": window})
            self.say(f"  graph       {stack.prometheus_url}/graph?{query}")
        self.say(
            f"Alertmanager  {stack.alertmanager_url}/#/alerts  (receivers → local webhook {self.receiver.url('')})"
        )

    async def query(self, expr: str) -> list[dict]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            url = self.stack.prometheus_url + "/api/v1/query"
            async with session.get(url, params={"query": expr}) as resp:
                body = await resp.json()
        return body["data"]["result"] if body.get("status") == "success" else []

    async def wait_counted(self, slo: str = "api-errors", evaluations: int = 2, timeout: float = 240) -> None:
        """Until live evaluations (`evaluations` of them) have counted traffic for `slo`: end to end, steady.

        The first one may count everything the log sources read since the exporter started (a counter reset
        after backfilled history counts the new value); the next ones count one minute each.
        """
        deadline = time.monotonic() + timeout
        since = time.time()
        # A range selector returns the stored samples with their own timestamps (`timestamp(x > 0)` would
        # return the query's time: a filtered vector is a new one).
        expr = f'slakit:slo_events_total:1m{{service="{self.spec.service}",slo="{slo}"}}[5m]'
        seen: set[float] = set()
        while time.monotonic() < deadline:
            self.check_alive()
            for row in await self.query(expr):
                seen |= {float(ts) for ts, value in row.get("values", []) if float(ts) > since and float(value) > 0}
            if len(seen) >= evaluations:
                return
            await asyncio.sleep(2)
        raise TimeoutError(f"Prometheus did not count {evaluations} minutes of {slo} within {timeout:.0f}s")

    async def burn_rates(self, slo: str = "api-errors") -> str:
        rows = await self.query(f'{{__name__=~"slakit:slo_burn_rate:.+",service="{self.spec.service}",slo="{slo}"}}')
        rates = sorted((r["metric"]["__name__"].rsplit(":", 1)[1], float(r["value"][1])) for r in rows)
        return ", ".join(f"{w} -" if math.isnan(v) else f"{w} {v:.1f}x" for w, v in rates) or "not recorded yet"

    def burst(self, share: float = 1.0) -> None:
        self.api.faults.error_ratio = share
        self.say(f"FAULT         {share:.0%} of API requests now answered 503 (the /health probe stays up)")

    def recover(self) -> None:
        self.api.faults.error_ratio = 0.0
        self.say("RECOVERY      the API answers normally again")

    def check_alive(self) -> None:
        for process in self.stack.processes:
            if not process.running():
                raise RuntimeError(f"{process.name} exited ({process.proc.returncode}):\n{process.tail()}")

    async def wait_notification(self, match: Callable[[Notification], bool], timeout: float, status_every: float = 30):
        """The first matching notification; prints the burn rates every `status_every` s while waiting."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("notification did not arrive in time")
            try:
                return await self.receiver.wait_for(match, min(remaining, status_every))
            except TimeoutError:
                if time.monotonic() < deadline:
                    self.say(f"waiting…      api-errors burn rates: {await self.burn_rates()}")

    async def stop(self) -> None:
        if self.traffic is not None:
            await self.traffic.stop()
        await asyncio.to_thread(self.stack.stop)
        await self.admin.stop()
        await self.api.stop()
        await self.receiver.stop()


async def run_scenario(demo: Demo, with_backfill: bool, keep_running: bool) -> None:
    """The script `slakit demo` runs; every step is printed as it happens."""
    try:
        await demo.start(with_backfill)
        demo.say("STEADY        waiting for Prometheus to count the first minutes of live traffic…")
        await demo.wait_counted()
        demo.say(f"steady        counted; api-errors burn rates: {await demo.burn_rates()}")
        demo.burst(1.0)
        page = await demo.wait_notification(is_page("api-errors", "firing"), timeout=420)
        demo.say(f"PAGED         {page.describe()}")
        demo.recover()
        await demo.wait_notification(is_page("api-errors", "resolved"), timeout=600)
        demo.say("RESOLVED      the page is resolved. Scenario complete.")
        if keep_running:
            demo.say("still running (--keep-running): look around, Ctrl-C to stop everything. Inject faults with")
            demo.say(
                f"""  curl -s {demo.admin.url} -d '{{"outage": true}}'   (or "error_ratio": 0.5, "webhook_loss": 1)"""
            )
            while True:
                demo.check_alive()
                await asyncio.sleep(5)
    finally:
        demo.say("stopping      traffic, exporter, Prometheus, Alertmanager, receiver…")
        await demo.stop()
        demo.say("stopped       no process left running")


def printer(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
