"""A local Alertmanager webhook receiver (127.0.0.1) that records and reports each notification as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

HOST = "127.0.0.1"
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Alert:
    status: str
    labels: dict[str, str]
    ends_at: float | None = None  # Unix seconds; set on resolved alerts (when Prometheus resolved them)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class Notification:
    """One webhook call from Alertmanager: a group of alerts sent to one receiver."""

    receiver: str
    status: str  # firing | resolved (of the group)
    alerts: tuple[Alert, ...]
    group_labels: dict[str, str]
    received: float = field(default_factory=time.time)

    def describe(self) -> str:
        parts = []
        for a in self.alerts:
            who = " ".join(f"{k}={a.labels[k]}" for k in ("service", "slo", "severity") if k in a.labels)
            parts.append(f"{a.status} {a.name} {who}".rstrip())
        return f"{self.receiver}: " + "; ".join(parts)


def _ends_at(alert: dict) -> float | None:
    """`endsAt` of a resolved alert in Unix seconds (Alertmanager sends RFC 3339, nanoseconds included)."""
    text = alert.get("endsAt") or ""
    if alert.get("status") != "resolved" or not text:
        return None
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    if not match:
        raise ValueError(f"invalid endsAt {text!r}")
    base = datetime.fromisoformat(match.group(1) + (match.group(3).replace("Z", "+00:00")))
    return base.timestamp() + float(match.group(2) or 0)


def parse(payload: dict) -> Notification:
    """Alertmanager's webhook payload (version 4) → Notification; ValueError if it is not one."""
    try:
        alerts = tuple(
            Alert(str(a["status"]), {str(k): str(v) for k, v in a["labels"].items()}, _ends_at(a))
            for a in payload["alerts"]
        )
        return Notification(str(payload["receiver"]), str(payload["status"]), alerts, dict(payload["groupLabels"]))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an Alertmanager webhook payload: {exc!r}") from None


class Receiver:
    """`POST /<anything>` with an Alertmanager payload: recorded in `notifications`, passed to `on_notify`."""

    def __init__(self, on_notify: Callable[[Notification], None] | None = None, port: int = 0) -> None:
        self.notifications: list[Notification] = []
        self.on_notify = on_notify
        self.port = port
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Event()

    def url(self, receiver: str) -> str:
        return f"http://{HOST}:{self.port}/{receiver}"

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/{receiver}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            notification = parse(await request.json())
        except ValueError as exc:
            return web.Response(status=400, text=f"{exc}\n")
        self.notifications.append(notification)
        self._arrived.set()
        if self.on_notify is not None:
            self.on_notify(notification)
        return web.Response(text="ok\n")

    async def wait_for(self, match: Callable[[Notification], bool], timeout: float) -> Notification:
        """The first notification (already received or arriving within `timeout` s) that `match`es."""
        deadline = time.monotonic() + timeout
        while True:
            for n in self.notifications:
                if match(n):
                    return n
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                got = "\n".join(n.describe() for n in self.notifications)
                raise TimeoutError(f"no matching notification; got:\n{got}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 5.0))
