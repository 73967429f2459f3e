"""POST /api/v1/events on its own listener: good batches count; hostile input is refused with a clear 4xx
naming the field, and moves no counter."""

from __future__ import annotations

import copy
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from slakit.exporter.runtime import Exporter
from tests.exporter.conftest import Samples
from tests.exporter.targets import free_port, make_cert
from tests.exporter.webhooks.helpers import EVENTS_TOKEN, events_block, write_config

AUTH = {"Authorization": "Bearer " + EVENTS_TOKEN.decode()}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[Exporter, str]]:
    port = free_port()
    exporter = Exporter(write_config(tmp_path / "x.yaml", {"events_api": events_block(tmp_path, port), "probes": []}))
    await exporter.start(schedule=False)
    yield exporter, f"http://127.0.0.1:{port}/api/v1/events"
    await exporter.stop()


def traffic(exporter: Exporter) -> dict[str, Any]:
    return copy.deepcopy(exporter.traffic.counts)


async def post(url: str, body: bytes | str, headers: dict[str, str] | None = None, **kw: Any) -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    hdrs = {"Content-Type": "application/json", **(AUTH if headers is None else headers)}
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=hdrs, **kw) as resp:
        text = await resp.text()
        return resp.status, (json.loads(text) if resp.content_type == "application/json" else text)


async def test_declared_services_at_zero_then_a_batch_counts(api: tuple[Exporter, str]) -> None:
    exporter, url = api
    s = Samples(exporter.render().decode())
    for service in ("erp-api", "menu-svc"):
        assert s.get("slakit_webhook_deliveries_total", service=service, result="failed") == 0
        assert s.get("slakit_menu_syncs_total", service=service, result="ok") == 0
        assert s.get("slakit_requests_total", service=service, code_class="5xx") == 0
    assert s.get("slakit_events_api_requests_total", result="accepted") == 0
    batch = {
        "events": [
            {"type": "webhook_delivery", "service": "erp-api", "result": "delivered", "count": 40},
            {"type": "webhook_delivery", "service": "erp-api", "result": "failed"},
            {"type": "menu_sync", "service": "menu-svc", "result": "failed", "count": 2},
            {"type": "request", "service": "erp-api", "status": 503, "count": 3},
        ]
    }
    assert await post(url, json.dumps(batch)) == (202, {"accepted": 4})
    single = {"type": "menu_sync", "service": "menu-svc", "result": "ok"}
    assert await post(url, json.dumps(single)) == (202, {"accepted": 1})
    s = Samples(exporter.render().decode())
    assert s.get("slakit_webhook_deliveries_total", service="erp-api", result="delivered") == 40
    assert s.get("slakit_webhook_deliveries_total", service="erp-api", result="failed") == 1
    assert s.get("slakit_menu_syncs_total", service="menu-svc", result="failed") == 2
    assert s.get("slakit_menu_syncs_total", service="menu-svc", result="ok") == 1
    assert s.get("slakit_requests_total", service="erp-api", code_class="5xx") == 3
    assert s.get("slakit_events_api_requests_total", result="accepted") == 2


GOOD = {"type": "webhook_delivery", "service": "erp-api", "result": "delivered"}
HOSTILE = [
    # (name, body, headers, status, field, counted as)
    ("no auth", json.dumps(GOOD), {}, 401, "Authorization", "unauthorized"),
    ("wrong token", json.dumps(GOOD), {"Authorization": "Bearer " + "x" * 24}, 401, "Authorization", "unauthorized"),
    (
        "basic auth",
        json.dumps(GOOD),
        {"Authorization": "Basic " + EVENTS_TOKEN.decode()},
        401,
        "Authorization",
        "unauthorized",
    ),
    ("oversized", json.dumps({"events": [GOOD] * 2, "pad": "x" * 5000}), None, 413, None, "too_large"),
    ("malformed JSON", '{"events": [', None, 400, None, "malformed"),
    ("not UTF-8", b"\xff\xfe{}", None, 400, None, "malformed"),
    ("deeply nested JSON", "[" * 1500 + "]" * 1500, None, 400, None, "malformed"),
    ("a list", json.dumps([GOOD]), None, 422, None, "invalid"),
    ("unknown service", json.dumps({**GOOD, "service": "other"}), None, 422, "service", "invalid"),
    ("wrong type of count", json.dumps({**GOOD, "count": "5"}), None, 422, "count", "invalid"),
    ("negative count", json.dumps({**GOOD, "count": -1}), None, 422, "count", "invalid"),
    ("bool count", json.dumps({**GOOD, "count": True}), None, 422, "count", "invalid"),
    ("wrong result", json.dumps({**GOOD, "result": "ok"}), None, 422, "result", "invalid"),
    ("unknown type", json.dumps({**GOOD, "type": "order"}), None, 422, "type", "invalid"),
    ("extra field", json.dumps({**GOOD, "labels": {"x": "y"}}), None, 422, "labels", "invalid"),
    (
        "status as text",
        json.dumps({"type": "request", "service": "erp-api", "status": "503"}),
        None,
        422,
        "status",
        "invalid",
    ),
    ("too many events", json.dumps({"events": [GOOD] * 6}), None, 422, "events", "invalid"),
    ("empty batch", json.dumps({"events": []}), None, 422, "events", "invalid"),
    # all-or-nothing: the first four are valid, the fifth is not; nothing is counted
    (
        "one bad in a batch",
        json.dumps({"events": [GOOD] * 4 + [{**GOOD, "service": "x"}]}),
        None,
        422,
        "events[4].service",
        "invalid",
    ),
]


@pytest.mark.parametrize(("name", "body", "headers", "status", "field", "result"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_input_is_refused_and_counts_nothing(
    api: tuple[Exporter, str],
    name: str,
    body: str | bytes,
    headers: dict[str, str] | None,
    status: int,
    field: str | None,
    result: str,
) -> None:
    exporter, url = api
    before = traffic(exporter)
    got_status, got = await post(url, body, headers)
    assert got_status == status, got
    assert isinstance(got, dict) and got["error"], got
    if field is not None:
        assert got["field"] == field, got
    assert traffic(exporter) == before
    assert exporter.endpoints.events.counts[result] == 1 and exporter.endpoints.events.counts["accepted"] == 0
    assert EVENTS_TOKEN.decode() not in json.dumps(got)


async def test_wrong_content_type_and_method(api: tuple[Exporter, str]) -> None:
    exporter, url = api
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=json.dumps(GOOD), headers={**AUTH, "Content-Type": "text/plain"}) as resp:
            assert resp.status == 415
        async with session.get(url, headers=AUTH) as resp:
            assert resp.status == 405
        async with session.post(url.replace("/events", "/other"), data="{}", headers=AUTH) as resp:
            assert resp.status == 404
    assert exporter.traffic.value("webhook_deliveries", "erp-api", "delivered") == 0


async def test_chunked_oversized_body_is_cut_off(api: tuple[Exporter, str]) -> None:
    exporter, url = api

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"events": ['
        for _ in range(100):
            yield json.dumps(GOOD).encode() + b","

    headers = {**AUTH, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, session.post(url, data=chunks(), headers=headers) as resp:
        assert resp.status == 413
    assert exporter.endpoints.events.counts["too_large"] == 1


async def test_tls_listener(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "events")
    port = free_port()
    block = events_block(tmp_path, port, tls={"cert_file": str(cert), "key_file": str(key)})
    exporter = Exporter(write_config(tmp_path / "x.yaml", {"events_api": block, "probes": []}))
    await exporter.start(schedule=False)
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        status, _ = await post(f"https://127.0.0.1:{port}/api/v1/events", json.dumps(GOOD), ssl=ctx)
        assert status == 202
        with pytest.raises(aiohttp.ClientError):  # plain HTTP is not served there
            await post(f"http://127.0.0.1:{port}/api/v1/events", json.dumps(GOOD))
    finally:
        await exporter.stop()
    assert exporter.traffic.value("webhook_deliveries", "erp-api", "delivered") == 1


async def test_registered_event_type_is_validated_and_applied_all_or_nothing(api: tuple[Exporter, str]) -> None:
    from typing import Literal

    from pydantic import BaseModel, ConfigDict

    class CustomEvent(BaseModel):
        model_config = ConfigDict(extra="forbid")
        type: Literal["custom"]
        id: str
        action: Literal["opened", "resolved"]

    exporter, url = api
    applied: list[dict[str, Any]] = []
    exporter.endpoints.events.registry.register("custom", CustomEvent, lambda e: applied.append(e.model_dump()))
    with pytest.raises(ValueError, match="already registered"):
        exporter.endpoints.events.registry.register("custom", CustomEvent, applied.append)
    ticket = {"type": "custom", "id": "T-1", "action": "opened"}
    status, body = await post(url, json.dumps({"events": [ticket, GOOD, {**ticket, "action": "lost"}]}))
    assert (status, body["field"]) == (422, "events[2].action")
    assert applied == [] and exporter.traffic.value("webhook_deliveries", "erp-api", "delivered") == 0
    assert await post(url, json.dumps({"events": [ticket, GOOD]})) == (202, {"accepted": 2})
    assert applied == [ticket] and exporter.traffic.value("webhook_deliveries", "erp-api", "delivered") == 1
