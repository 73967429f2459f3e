"""Extra listeners, apart from /metrics: the webhook receiver and the events API, each with optional TLS.

Both may share one address (then one listener serves both paths). Addresses, paths and TLS on/off are fixed
at start (a reload that changes them is refused: restart the exporter); certificate files and secrets are
re-read at every reload, so a rotated certificate or key takes effect for new connections.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from slakit.errors import InputError, Problem
from slakit.exporter.events import PATH as EVENTS_PATH
from slakit.exporter.events import EventsAPI
from slakit.exporter.webhooks.hub import WebhookHub
from slakit.exporter.webhooks.receiver import make_handler

if TYPE_CHECKING:
    from slakit.exporter.config import ExporterConfig, ServerTLSConfig
    from slakit.exporter.traffic import TrafficCounters

log = logging.getLogger("slakit.exporter")
Plan = dict[str, tuple[bool, tuple[str, ...]]]  # address → (TLS on, paths served)


class BodyTooLarge(Exception):
    pass


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The request body, or BodyTooLarge as soon as it (declared or read) exceeds `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    data = bytearray()
    async for chunk in request.content.iter_any():
        data += chunk
        if len(data) > limit:
            raise BodyTooLarge
    return bytes(data)


def _plan(config: ExporterConfig) -> tuple[Plan, dict[str, ServerTLSConfig]]:
    plan: Plan = {}
    tls: dict[str, ServerTLSConfig] = {}
    for block, path in ((config.webhook_receiver, None), (config.events_api, EVENTS_PATH)):
        if block is None:
            continue
        path = path or block.path  # type: ignore[union-attr]
        on, paths = plan.get(block.listen_address, (block.tls is not None, ()))
        plan[block.listen_address] = (on, (*paths, path))
        if block.tls is not None:
            tls[block.listen_address] = block.tls
    return plan, tls


def _server_context(tls: ServerTLSConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    return ctx


class Endpoints:
    """The webhook hub, the events API and the listeners serving them."""

    def __init__(self, traffic: TrafficCounters, clock: Callable[[], float] = time.time) -> None:
        self.hub = WebhookHub(clock)
        self.events = EventsAPI(traffic)
        self.plan: Plan = {}
        self.tls: dict[str, ServerTLSConfig] = {}
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.runners: list[web.AppRunner] = []
        self._next: tuple[ExporterConfig, Plan, dict[str, ServerTLSConfig]] | None = None

    def prepare(self, config: ExporterConfig, source: str) -> None:
        """Check that `config` can be applied (TLS files load; listeners unchanged once running)."""
        plan, tls = _plan(config)
        if self.runners and plan != self.plan:
            raise InputError(
                Problem(
                    source,
                    "listen addresses, paths or TLS on/off of webhook_receiver/events_api changed; "
                    "restart the exporter to apply that",
                    field="webhook_receiver" if config.webhook_receiver else "events_api",
                )
            )
        for address, settings in tls.items():
            field = (
                "webhook_receiver.tls"
                if config.webhook_receiver and address == config.webhook_receiver.listen_address
                else "events_api.tls"
            )
            try:
                _server_context(settings)
            except (ssl.SSLError, OSError) as exc:
                raise InputError(Problem(source, f"cannot load the certificate/key: {exc}", field=field)) from None
        self._next = (config, plan, tls)

    def commit(self) -> None:
        assert self._next is not None
        config, plan, tls = self._next
        self._next = None
        self.hub.configure(config)
        self.events.configure(config.events_api)
        self.plan, self.tls = plan, tls
        for address, ctx in self.contexts.items():  # running listeners: new handshakes use the new files
            settings = tls[address]
            ctx.load_cert_chain(str(settings.cert_file), str(settings.key_file) if settings.key_file else None)

    async def start(self) -> None:
        """Bind every planned listener; OSError names the address when one cannot be bound."""
        for address, (tls_on, paths) in self.plan.items():
            app = web.Application()
            for path in paths:
                handler = self.events.handle if path == EVENTS_PATH else make_handler(self.hub, read_limited)
                app.router.add_post(path, handler)
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
            await runner.setup()
            host, _, port = address.rpartition(":")
            ctx = _server_context(self.tls[address]) if tls_on else None
            try:
                await web.TCPSite(runner, host.strip("[]"), int(port), ssl_context=ctx, reuse_address=True).start()
            except OSError as exc:
                await runner.cleanup()
                raise OSError(
                    exc.errno, f"cannot listen on {address} ({', '.join(paths)}): {exc.strerror or exc}"
                ) from None
            self.runners.append(runner)
            if ctx is not None:
                self.contexts[address] = ctx
            log.info("listening on %s for %s%s", address, ", ".join(paths), " (TLS)" if ctx else "")

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
        self.contexts.clear()

    def render(self, openmetrics: bool) -> list[str]:
        return [*self.hub.render(openmetrics), *self.events.render(openmetrics)]
