"""The outbound webhook prober against a real customer endpoint on 127.0.0.1 that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from slakit.exporter.runtime import Exporter
from tests.exporter.conftest import Samples
from tests.exporter.targets import free_port, start_app
from tests.exporter.webhooks.helpers import CURRENT_KEY, write_config, write_secrets


def customer_app(received: list[dict[str, object]]) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers.get("X-Timestamp", "")
        expected = "sha256=" + hmac.new(CURRENT_KEY, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
            return web.Response(status=401, text="bad signature")
        if abs(time.time() - int(ts)) > 300:
            return web.Response(status=400, text="stale")
        received.append(json.loads(body))
        return web.Response(status=204)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/hook")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/moved", moved)
    app.router.add_post("/broken", broken)
    return app


@pytest.fixture
async def customer() -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []
    runner, port = await start_app(customer_app(received))
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


def outbound(name: str, url: str, key_file: Path, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "service": "erp-api",
        "prober": "outbound_webhook",
        "url": url,
        "method": "POST",
        "interval": "30s",
        "timeout": "2s",
        "outbound": {"signature": {"signed_content": "timestamp.body", "secret_file": str(key_file)}},
        **extra,
    }


async def test_signed_payload_must_get_2xx(tmp_path: Path, customer: tuple[str, list[dict[str, object]]]) -> None:
    url, received = customer
    keys = write_secrets(tmp_path)
    probes = [
        outbound("ok", url + "/hook", keys["current"]),
        outbound("custom-body", url + "/hook", keys["current"], body='{"order": "{event_id}", "at": {timestamp}}'),
        outbound("wrong-key", url + "/hook", keys["previous"]),
        outbound("moved", url + "/moved", keys["current"]),
        outbound("broken", url + "/broken", keys["current"]),
        outbound("refused", f"http://127.0.0.1:{free_port()}/hook", keys["current"]),
    ]
    exporter = Exporter(write_config(tmp_path / "x.yaml", {"probes": probes}))
    await exporter.start(schedule=False)
    try:
        results = {p["name"]: await exporter.probe_once(("erp-api", str(p["name"]))) for p in probes}
    finally:
        await exporter.stop()
    assert {name: (r.success, r.reason, r.status) for name, r in results.items()} == {
        "ok": (True, None, 204),
        "custom-body": (True, None, 204),
        "wrong-key": (False, "http_status", 401),
        "moved": (False, "http_status", 302),  # a redirected delivery is a failed delivery
        "broken": (False, "http_status", 500),
        "refused": (False, "connect", None),
    }
    assert received[0]["type"] == "slakit.test" and len(str(received[0]["id"])) == 32
    assert set(received[1]) == {"order", "at"} and abs(int(received[1]["at"]) - time.time()) < 300  # type: ignore[call-overload]
    s = Samples(exporter.render().decode())
    assert s.get("slakit_probe_failures_total", service="erp-api", probe="moved", reason="http_status") == 1
    assert s.get("slakit_probe_failures_total", service="erp-api", probe="ok", reason="dns") == 0
    assert not s.has("slakit_probe_failures_total", service="erp-api", probe="ok", reason="trigger_failed")
