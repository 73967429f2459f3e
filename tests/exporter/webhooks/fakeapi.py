"""A fake system under test on 127.0.0.1: `POST /orders` creates an order and delivers its webhook.

The trigger body is JSON `{"reference": <correlation id>, "callback": <callback URL>, "mode": ...}`; the
delivery is a real HTTP POST, signed like a real API would sign it, made in the background after the
trigger was answered. `mode` picks the behaviour under test:

    on_time        delivered at once, signed with the current key
    late           delivered `delay` seconds later
    never          not delivered
    elsewhere      delivered to `FakeAPI.elsewhere` (another replica's receiver) instead of the callback
    bad_signature  signed with a key the receiver does not know
    previous_key   signed with the previous (rotated-out) key
    stale          signed, with a timestamp 1 hour old
    replayed       delivered twice, byte for byte
    mismatch       delivered with status "cancelled" instead of "created"
    fail           the trigger answers 500 and nothing is delivered
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.exporter.targets import start_app


def sign(key: bytes, body: bytes, timestamp: str, with_timestamp: bool) -> str:
    content = timestamp.encode() + b"." + body if with_timestamp else body
    return "sha256=" + hmac.new(key, content, hashlib.sha256).hexdigest()


@dataclass
class FakeAPI:
    current_key: bytes
    previous_key: bytes
    signed_timestamp: bool = True  # signs `<timestamp>.<body>` (the config's signed_content)
    delay: float = 0.0
    elsewhere: str | None = None
    ssl: ssl.SSLContext | None = None  # trusts an https receiver
    url: str = ""
    deliveries: list[tuple[str, int]] = field(default_factory=list)  # (mode, receiver status)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    runner: web.AppRunner | None = None

    async def start(self) -> FakeAPI:
        app = web.Application()
        app.router.add_post("/orders", self.create_order)
        self.runner, port = await start_app(app)
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.runner is not None:
            await self.runner.cleanup()

    async def create_order(self, request: web.Request) -> web.Response:
        order = await request.json()
        mode = order["mode"]
        if mode == "fail":
            return web.json_response({"error": "database down"}, status=500)
        assert request.headers["X-Correlation-Id"] == order["reference"]  # the trigger header carries it too
        if mode != "never":
            task = asyncio.ensure_future(self.deliver(order, mode))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.json_response({"order": order["reference"]}, status=201)

    async def deliver(self, order: dict[str, str], mode: str) -> None:
        if mode == "late":
            await asyncio.sleep(self.delay)
        status = "cancelled" if mode == "mismatch" else "created"
        body = json.dumps({"event": "order.created", "data": {"reference": order["reference"], "status": status}})
        raw = body.encode()
        now = time.time() - (3600 if mode == "stale" else 0)
        timestamp = str(int(now))
        key = {"bad_signature": b"not-the-key", "previous_key": self.previous_key}.get(mode, self.current_key)
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": timestamp,
            "X-Signature": sign(key, raw, timestamp, self.signed_timestamp),
        }
        url = self.elsewhere if mode == "elsewhere" and self.elsewhere else order["callback"]
        async with aiohttp.ClientSession() as session:
            for _ in range(2 if mode == "replayed" else 1):
                async with session.post(url, data=raw, headers=headers, ssl=self.ssl or True) as resp:
                    self.deliveries.append((mode, resp.status))
