"""The demo's fake ERP API, traffic generator and receiver, as real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest

from slakit.demo.fake_api import DELIVERY_TIMEOUT, FakeApi, FaultAdmin, Share
from slakit.demo.receiver import Receiver, parse
from slakit.demo.traffic import Traffic
from slakit.exporter.sources.parsers import combined

STAMP = r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\]"
COMBINED = re.compile(rf'^127\.0\.0\.1 - - {STAMP} "[^"]*" (\d{{3}}) (\d+) "[^"]*" "[^"]*"$')


@pytest.fixture
async def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = FakeApi(tmp_path / "access.log", tmp_path / "webhooks.log")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def statuses(session: aiohttp.ClientSession, url: str, n: int) -> list[int]:
    out = []
    for _ in range(n):
        async with session.get(url) as resp:
            out.append(resp.status)
    return out


async def test_error_share_is_exact_and_health_stays_up(api: FakeApi) -> None:
    async with aiohttp.ClientSession() as session:
        assert await statuses(session, api.url + "/api/v1/menu", 4) == [200] * 4
        api.faults.error_ratio = 0.25
        got = await statuses(session, api.url + "/api/v1/menu", 8)
        assert got.count(503) == 2 and got.count(200) == 6
        api.faults.error_ratio = 1.0
        assert await statuses(session, api.url + "/api/v1/menu", 3) == [503] * 3
        assert await statuses(session, api.url + "/health", 2) == [200, 200]


async def test_access_log_is_nginx_combined_and_counted_by_the_exporter_parser(api: FakeApi) -> None:
    async with aiohttp.ClientSession(headers={"User-Agent": 'odd "agent"', "Referer": "http://x/"}) as session:
        await statuses(session, api.url + "/api/v1/menu?q=1", 3)
        api.faults.error_ratio = 1.0
        await statuses(session, api.url + "/api/v1/menu", 2)
        async with session.get(api.url + "/nope") as resp:
            assert resp.status == 404
    text = api.access_log_path.read_text()
    lines = text.splitlines()
    assert len(lines) == 6
    assert all(COMBINED.match(line) for line in lines), lines
    assert '"GET /api/v1/menu?q=1 HTTP/1.1" 200' in lines[0] and 'odd \\x22agent\\x22"' in lines[0]
    tally = combined(text.encode())
    assert tally.values == {"2xx": 3, "5xx": 2, "4xx": 1} and not tally.rejected


async def test_orders_are_delivered_or_lost(api: FakeApi) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(api.url + "/api/v1/orders", json={"items": ["soup"]}) as resp:
                assert resp.status == 201 and (await resp.json())["order_id"].startswith("ord-")
        api.faults.webhook_loss = 1.0
        async with session.post(api.url + "/api/v1/orders", json={"items": ["stew"]}) as resp:
            assert resp.status == 201
        async with session.post(api.url + "/api/v1/orders", data=b"not json") as resp:
            assert resp.status == 400
    await asyncio.sleep(DELIVERY_TIMEOUT + 0.5)
    rows = [json.loads(line) for line in api.webhook_log_path.read_text().splitlines()]
    assert [r["result"] for r in rows] == ["delivered", "delivered", "failed"]
    assert {r["order_id"] for r in rows} == {"ord-0000001", "ord-0000002", "ord-0000003"}
    assert all(r["time"].endswith("Z") for r in rows)


async def test_outage_refuses_connections_then_recovers(api: FakeApi) -> None:
    async with aiohttp.ClientSession() as session:
        await api.set_outage(True)
        with pytest.raises(aiohttp.ClientConnectionError):
            await statuses(session, api.url + "/health", 1)
        await api.set_outage(False)
        assert await statuses(session, api.url + "/health", 1) == [200]


async def test_traffic_rate_and_outcomes(api: FakeApi) -> None:
    traffic = Traffic(api.url, rate=50)
    traffic.start()
    await asyncio.sleep(1.0)
    api.faults.error_ratio = 1.0
    await asyncio.sleep(1.0)
    await traffic.stop()
    total = sum(traffic.outcomes.values())
    assert 60 <= total <= 110, traffic.outcomes  # ~100 requests in 2 s; generous on a loaded machine
    assert traffic.outcomes["2xx"] > 10 and traffic.outcomes["5xx"] > 10


def test_share_picks_exactly() -> None:
    share = Share()
    picks = [share.pick(0.3) for _ in range(100)]
    assert sum(picks) == 30
    assert not any(Share().pick(0.0) for _ in range(10))


async def test_receiver_records_alertmanager_payloads() -> None:
    seen = []
    receiver = Receiver(seen.append)
    await receiver.start()
    payload = {
        "receiver": "pager",
        "status": "resolved",
        "groupLabels": {"service": "erp-api", "slo": "api-errors"},
        "alerts": [
            {
                "status": "resolved",
                "labels": {"alertname": "SlakitErrorBudgetBurn", "slo": "api-errors", "severity": "page"},
                "endsAt": "2026-11-23T18:31:01.123456789Z",
            }
        ],
    }
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(receiver.url("pager"), json=payload) as resp:
                assert resp.status == 200
            async with session.post(receiver.url("pager"), json={"nope": 1}) as resp:
                assert resp.status == 400
        found = await receiver.wait_for(lambda n: n.receiver == "pager", timeout=1)
    finally:
        await receiver.stop()
    assert seen == [found] and found.alerts[0].ends_at == pytest.approx(1795458661.123457)
    assert found.describe() == "pager: resolved SlakitErrorBudgetBurn slo=api-errors severity=page"
    with pytest.raises(ValueError):
        parse({"receiver": "x", "status": "firing", "groupLabels": {}, "alerts": [{"labels": {}}]})


async def test_fault_admin_sets_and_validates(api: FakeApi) -> None:
    admin = FaultAdmin(api)
    await admin.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(admin.url, json={"error_ratio": 0.5, "webhook_loss": 1}) as resp:
                assert resp.status == 200
                assert await resp.json() == {"error_ratio": 0.5, "webhook_loss": 1.0, "outage": False}
            assert api.faults.error_ratio == 0.5 and api.faults.webhook_loss == 1.0
            async with session.post(admin.url, json={"outage": True}) as resp:
                assert (await resp.json())["outage"] is True
            with pytest.raises(aiohttp.ClientConnectionError):
                await statuses(session, api.url + "/health", 1)
            for bad in ({"error_ratio": 2}, {"outage": "yes"}, {"nope": 1}, [], {"webhook_loss": True}):
                async with session.post(admin.url, json=bad) as resp:
                    assert resp.status == 400, bad
            async with session.post(admin.url, data=b"x" * 5000) as resp:
                assert resp.status == 413
            async with session.post(admin.url, json={"outage": False, "error_ratio": 0}) as resp:
                assert await resp.json() == {"error_ratio": 0.0, "webhook_loss": 1.0, "outage": False}
            assert await statuses(session, api.url + "/health", 1) == [200]
    finally:
        await admin.stop()
    assert "/faults" not in api.access_log_path.read_text()
