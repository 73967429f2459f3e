"""A fake ERP API on 127.0.0.1 with injectable faults, writing the logs the exporter's log sources read.

Endpoints: `GET /health`, `GET /api/v1/menu`, `POST /api/v1/orders` (the order is then delivered to the
customer's webhook, a second small server). Every request is written to an nginx *combined* access log; every
delivery to a JSON-lines log `{"time": ..., "order_id": ..., "result": "delivered"|"failed"}`.

Faults (`FakeApi.faults`, changed in process): `error_ratio` answers that share of `/api/` requests 503
(`/health` stays up: a 5xx burst, not an outage); `webhook_loss` loses that share of deliveries (never sent,
logged `failed`); `FakeApi.set_outage(True)` stops listening, so every request — probes included — is refused.
Shares are applied exactly, not at random: with 0.25 every fourth request fails.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
DELIVERY_TIMEOUT = 2.0
MENU = {"items": [{"id": "soup", "price": 6.5}, {"id": "salad", "price": 8.0}, {"id": "stew", "price": 11.0}]}


@dataclass
class Faults:
    """What is wrong with the API right now."""

    error_ratio: float = 0.0
    webhook_loss: float = 0.0


class Share:
    """Picks exactly `ratio` of the calls (0.25: every fourth), deterministically."""

    def __init__(self) -> None:
        self.due = 0.0

    def pick(self, ratio: float) -> bool:
        if ratio <= 0:
            self.due = 0.0
            return False
        self.due += min(ratio, 1.0)
        if self.due >= 1.0 - 1e-9:
            self.due -= 1.0
            return True
        return False


def _quoted(value: str | None) -> str:
    """An nginx log field: `-` when empty, `"` and `\\` escaped as nginx does (`\\x22`)."""
    if not value:
        return "-"
    return "".join(f"\\x{ord(c):02X}" if c in '"\\' or ord(c) < 32 or ord(c) == 127 else c for c in value)


def combined_line(request: web.BaseRequest, status: int, size: int, now: float | None = None) -> str:
    """One nginx `combined` line: `$remote_addr - $remote_user [$time_local] "$request" $status ...`."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    line = f"{request.method} {request.raw_path} HTTP/{request.version.major}.{request.version.minor}"
    referer, agent = request.headers.get("Referer"), request.headers.get("User-Agent")
    return (
        f'{request.remote or "-"} - - [{stamp}] "{_quoted(line)}" {status} {size} '
        f'"{_quoted(referer)}" "{_quoted(agent)}"\n'
    )


class FakeApi:
    """The API server, its faults and its two logs. `await start()`, then `url`; `await stop()` at the end."""

    def __init__(self, access_log: Path, webhook_log: Path, port: int = 0) -> None:
        self.faults = Faults()
        self.port = port
        self.access_log_path, self.webhook_log_path = access_log, webhook_log
        self._access: TextIO | None = None
        self._webhooks: TextIO | None = None
        self._errors, self._losses = Share(), Share()
        self._order_ids = itertools.count(1)
        self._deliveries: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._customer = CustomerWebhook()
        self._client: aiohttp.ClientSession | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def down(self) -> bool:
        return self._site is None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._log_middleware])
        app.router.add_get("/health", self._health)
        app.router.add_get("/api/v1/menu", self._menu)
        app.router.add_post("/api/v1/orders", self._order)
        return app

    async def start(self) -> None:
        self.access_log_path.parent.mkdir(parents=True, exist_ok=True)
        self._access = self.access_log_path.open("a", buffering=1, encoding="utf-8")
        self._webhooks = self.webhook_log_path.open("a", buffering=1, encoding="utf-8")
        await self._customer.start()
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT))
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await self._site.start()
        if not self.port:
            self.port = self._site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def set_outage(self, on: bool) -> None:
        """A full outage: nothing listens on the port (connection refused) until it is turned off."""
        if on and self._site is not None:
            site, self._site = self._site, None
            await site.stop()
        elif not on and self._site is None:
            await self._listen()

    async def stop(self) -> None:
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()
        await self._customer.stop()
        for f in (self._access, self._webhooks):
            if f is not None:
                f.close()

    @web.middleware
    async def _log_middleware(self, request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # 404, 405, 413…: logged like any answer, then raised on
            self._log(request, exc.status, len(exc.body or b"") if isinstance(exc.body, bytes) else 0)
            raise
        body = response.body if isinstance(response, web.Response) else None
        self._log(request, response.status, len(body) if isinstance(body, bytes) else response.body_length)
        return response

    def _log(self, request: web.Request, status: int, size: int) -> None:
        self.requests += 1
        if self._access is not None:
            self._access.write(combined_line(request, status, size))

    def _failing(self) -> bool:
        return self._errors.pick(self.faults.error_ratio)

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="status: ok\n")

    async def _menu(self, request: web.Request) -> web.Response:
        if self._failing():
            return web.Response(status=503, text="upstream unavailable\n")
        return web.json_response(MENU)

    async def _order(self, request: web.Request) -> web.Response:
        if self._failing():
            return web.Response(status=503, text="upstream unavailable\n")
        try:
            order = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="order must be JSON\n")
        order_id = f"ord-{next(self._order_ids):07d}"
        task = asyncio.create_task(self._deliver(order_id, order))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return web.json_response({"order_id": order_id}, status=201)

    async def _deliver(self, order_id: str, order: object) -> None:
        """POST the order to the customer's webhook; a lost one is never sent and fails after the timeout."""
        if self._losses.pick(self.faults.webhook_loss):
            await asyncio.sleep(DELIVERY_TIMEOUT)
            result = "failed"
        else:
            try:
                assert self._client is not None
                async with self._client.post(self._customer.url, json={"order_id": order_id, "order": order}) as r:
                    result = "delivered" if 200 <= r.status < 300 else "failed"
            except (aiohttp.ClientError, TimeoutError):
                result = "failed"
        if self._webhooks is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self._webhooks.write(json.dumps({"time": stamp, "order_id": order_id, "result": result}) + "\n")


class CustomerWebhook:
    """The customer's side: accepts delivered orders on 127.0.0.1 (`POST /orders`) and counts them."""

    def __init__(self) -> None:
        self.received = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/orders"

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/orders", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _receive(self, request: web.Request) -> web.Response:
        await request.read()
        self.received += 1
        return web.Response(status=204)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class FaultAdmin:
    """`GET /faults` and `POST /faults` (JSON) on their own 127.0.0.1 port, so faults can be injected from a shell.

    `{"error_ratio": 0.5}`, `{"webhook_loss": 1}`, `{"outage": true}`; keys may be combined, values are checked
    (shares within 0..1). Its requests are not API traffic: they are not in the access log.
    """

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/faults"

    async def start(self) -> None:
        app = web.Application(client_max_size=4096)
        app.router.add_get("/faults", self._get)
        app.router.add_post("/faults", self._post)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def state(self) -> dict:
        faults = self.api.faults
        return {"error_ratio": faults.error_ratio, "webhook_loss": faults.webhook_loss, "outage": self.api.down}

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _post(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        problems = _check_faults(body)
        if problems:
            return web.json_response({"error": "; ".join(problems)}, status=400)
        for key in ("error_ratio", "webhook_loss"):
            if key in body:
                setattr(self.api.faults, key, float(body[key]))
        if "outage" in body:
            await self.api.set_outage(body["outage"])
        return web.json_response(self.state())


def _check_faults(body: object) -> list[str]:
    if not isinstance(body, dict) or not body:
        return ["body must be a JSON object with error_ratio, webhook_loss and/or outage"]
    problems = [f"unknown key {key!r}" for key in body if key not in ("error_ratio", "webhook_loss", "outage")]
    for key in ("error_ratio", "webhook_loss"):
        value = body.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            problems.append(f"{key} must be a number from 0 to 1")
    if "outage" in body and not isinstance(body["outage"], bool):
        problems.append("outage must be true or false")
    return problems
