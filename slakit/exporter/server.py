"""The exporter's HTTP endpoints: /metrics, /-/healthy, /-/ready, POST /-/reload."""

from __future__ import annotations

import asyncio
import gzip

from aiohttp import web

from slakit.exporter.exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, wants_openmetrics
from slakit.exporter.runtime import Exporter

GZIP_IN_EXECUTOR_BYTES = 64 * 1024  # compress larger bodies off the event loop (zlib releases the GIL)
EXPORTER_KEY = web.AppKey("exporter", Exporter)

INDEX = b"""<html><head><title>slakit exporter</title></head><body><h1>slakit exporter</h1>
<p><a href="/metrics">/metrics</a> | <a href="/-/healthy">/-/healthy</a> | <a href="/-/ready">/-/ready</a></p>
</body></html>
"""


def accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() == "gzip":
            q = params.strip()
            try:
                return not (q.startswith("q=") and float(q[2:] or 0) == 0)
            except ValueError:
                return False
    return False


async def metrics(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
    body = exporter.render(openmetrics)
    headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE}
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        if len(body) > GZIP_IN_EXECUTOR_BYTES:
            body = await asyncio.get_running_loop().run_in_executor(None, gzip.compress, body, 1)
        else:
            body = gzip.compress(body, 1)
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="slakit exporter is healthy.\n")


async def ready(request: web.Request) -> web.Response:
    if request.app[EXPORTER_KEY].ready:
        return web.Response(text="slakit exporter is ready.\n")
    return web.Response(status=503, text="slakit exporter is not ready.\n")


async def reload(request: web.Request) -> web.Response:
    ok, message = await request.app[EXPORTER_KEY].reload()
    if ok:
        from slakit.exporter.main import settle_gc

        settle_gc()  # as after start: keep full collections short
    return web.Response(status=200 if ok else 400, text=message + "\n")


async def index(request: web.Request) -> web.Response:
    return web.Response(body=INDEX, content_type="text/html")


def make_app(exporter: Exporter) -> web.Application:
    app = web.Application()
    app[EXPORTER_KEY] = exporter
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)
    app.router.add_get("/", index)
    return app
