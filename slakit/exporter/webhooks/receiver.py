"""The webhook receiver's HTTP handler: read the body (bounded), let the hub judge it, answer JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from slakit.exporter.webhooks.hub import WebhookHub

Handler = Callable[[web.Request], Awaitable[web.Response]]


def make_handler(hub: WebhookHub, read_limited: Callable[[web.Request, int], Awaitable[bytes]]) -> Handler:
    async def receive(request: web.Request) -> web.Response:
        from slakit.exporter.listeners import BodyTooLarge

        config = hub.config
        if config is None:
            raise web.HTTPNotFound()
        try:
            body = await read_limited(request, config.max_body_bytes)
        except BodyTooLarge:
            status, result = hub.count("too_large")
        else:
            status, result = hub.receive(request.headers, body)
        return web.json_response({"result": result}, status=status)

    return receive
