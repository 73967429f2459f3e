"""Process wiring: logging, the web server, signals."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import signal
import sys

from aiohttp import web

from slakit.exporter.config import load_config
from slakit.exporter.runtime import Exporter
from slakit.exporter.server import make_app

log = logging.getLogger("slakit.exporter")


def serve(config_path: str, host: str, port: int, log_level: str = "info") -> int:
    logging.basicConfig(
        level={"warn": logging.WARNING}.get(log_level, getattr(logging, log_level.upper(), logging.INFO)),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    config = load_config(config_path)  # InputError → exit 2 before anything starts
    try:
        return asyncio.run(_serve(config_path, config, host, port))
    except KeyboardInterrupt:
        return 0


def settle_gc() -> None:
    """Move everything alive now (config, probers, series) out of the collector's sight.

    A full collection over thousands of long-lived objects stalled the event loop for ~200 ms at 2000 probes;
    after gc.freeze() the collector only walks what was allocated since (requests, responses).
    """
    gc.unfreeze()  # what an earlier freeze kept and is garbage now (old probers after a reload) is collected
    gc.collect()
    gc.freeze()


async def _serve(config_path: str, config, host: str, port: int) -> int:  # type: ignore[no-untyped-def]
    # getaddrinfo runs in the default executor: a slow DNS server must not queue every probe behind 6 threads.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="slakit")
    )
    exporter = Exporter(config_path)
    runner = web.AppRunner(make_app(exporter), access_log=None, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        await runner.cleanup()
        return 1
    try:
        await exporter.start(config)
    except OSError as exc:  # the webhook receiver or events API cannot bind its address
        log.error("%s", exc.strerror or exc)
        await exporter.stop()
        await runner.cleanup()
        return 1
    except BaseException:  # e.g. InputError for an unloadable client key: exit 2, cleanly
        await exporter.stop()
        await runner.cleanup()
        raise
    log.info("listening on %s:%d", host, port)
    settle_gc()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    pending: set[asyncio.Task[object]] = set()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading %s", config_path)
        task = asyncio.ensure_future(exporter.reload())
        task.add_done_callback(lambda _: settle_gc())
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    log.info("shutting down")
    await exporter.stop()
    await runner.cleanup()
    return 0
