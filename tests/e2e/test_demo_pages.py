"""End to end on real components: fake API → exporter (log sources + probe) → Prometheus → Alertmanager → receiver.

The demo spec (burn-rate windows scaled down to page 5m/2m, ticket 30m/10m) with two test-only changes:
`breach_severity: ticket` (without a month of history, the burst also breaches the month, which would otherwise
page a second time), and the 5m rule groups evaluated every minute, as promtool does, so ticket alerts fire while
the page does and the inhibition is exercised within the test's minutes. A 100 % 5xx burst must page exactly
once for api-errors; while the page fires, the api-errors tickets are inhibited in Alertmanager and none is
notified; after recovery the page resolves. Deadlines are generous; exact firing minutes are proven by the
generated promtool tests, not here.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from slakit.alertmanager import Timing
from slakit.demo.receiver import Notification
from slakit.demo.scenario import DEMO_SPEC, Demo, is_page

pytestmark = pytest.mark.slow
TIMING = Timing(group_wait="5s", group_interval="10s", page_repeat="1h", ticket_repeat="1h")
BURN_LABELS = {
    "alertname": "SlakitErrorBudgetBurn",
    "service": "erp-api",
    "slo": "api-errors",
    "severity": "page",
    "contract": "api-sla",
}


def e2e_spec(tmp_path: Path) -> Path:
    spec = yaml.safe_load(DEMO_SPEC.read_text())
    for slo in spec["slos"]:
        slo["alerting"]["breach_severity"] = "ticket"
    path = tmp_path / "erp-api.e2e.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def evaluate_slow_groups_every_minute(rules_dir: Path) -> None:
    for path in rules_dir.glob("*.rules.yml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            if group.get("interval") == "5m":
                group["interval"] = "1m"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


async def inhibited_tickets(demo: Demo) -> list[dict]:
    """api-errors ticket alerts Alertmanager holds as inhibited (muted by the page)."""
    url = demo.stack.alertmanager_url + "/api/v2/alerts"
    params = [("filter", 'slo="api-errors"'), ("filter", 'severity="ticket"')]
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
        alerts = await resp.json()
    return [a for a in alerts if a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"]]


def for_api_errors(n: Notification) -> bool:
    return any(a.labels.get("slo") == "api-errors" for a in n.alerts)


@pytest.mark.timeout(600)
async def test_a_5xx_burst_pages_once_inhibits_tickets_and_resolves(tmp_path: Path) -> None:
    lines: list[str] = []
    demo = Demo(tmp_path / "demo", spec_path=e2e_spec(tmp_path), timing=TIMING, say=lines.append, scrape_interval="5s")
    started = time.monotonic()
    try:
        await demo.prepare(with_backfill=False)
        evaluate_slow_groups_every_minute(demo.stack.rules_dir)
        await demo.launch()
        await demo.wait_counted(evaluations=1, timeout=240)
        assert not [n for n in demo.receiver.notifications if n.receiver == "pager"], "paged on steady traffic"

        demo.burst(1.0)
        firing = await demo.wait_notification(is_page("api-errors", "firing"), timeout=300)
        # Keep burning until Alertmanager holds api-errors tickets muted by the page: the inhibition is live.
        deadline = time.monotonic() + 180
        while not (muted := await inhibited_tickets(demo)):
            assert time.monotonic() < deadline, "no api-errors ticket was inhibited while the page fired"
            await asyncio.sleep(3)
        demo.recover()
        resolved = await demo.wait_notification(is_page("api-errors", "resolved"), timeout=400)
        elapsed = time.monotonic() - started
    finally:
        await demo.stop()
    assert not any(p.running() for p in demo.stack.processes)

    notes = demo.receiver.notifications
    log = "\n".join(lines)
    # Exactly one page for api-errors while it fired, then its resolution; labels as generated.
    pages = [n for n in notes if n.receiver == "pager" and for_api_errors(n)]
    assert pages == [firing, resolved], log
    (burn,) = firing.alerts
    assert burn.status == "firing" and burn.labels == BURN_LABELS, burn
    (gone,) = resolved.alerts
    assert gone.status == "resolved" and gone.labels == BURN_LABELS and gone.ends_at is not None
    assert firing.group_labels == {"service": "erp-api", "slo": "api-errors"}
    # The uptime SLO never paged: /health stayed up during the 5xx burst.
    assert not [n for n in notes if n.receiver == "pager" and not for_api_errors(n)], log
    # Tickets for api-errors existed and were muted; none was notified while the page fired.
    assert {a["labels"]["alertname"] for a in muted} <= {
        "SlakitErrorBudgetBurn",
        "SlakitErrorBudgetSpent",
        "SlakitSLOBreached",
    }
    during = [
        n for n in notes if n.receiver == "ticket" and for_api_errors(n) and firing.received < n.received < gone.ends_at
    ]
    assert during == [], log
    assert "FAULT" in log and "RECOVERY" in log
    print(f"end-to-end scenario: {elapsed:.0f}s")
