"""Pacing for the driver: fire calls at a fixed rate on a fixed timeline, without drift."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def sleep_until(when: float) -> None:
    """Sleep until wall-clock time `when` (time.time())."""
    delay = when - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def paced(count: int, period: float, start: float, end: float, call: Callable[[int], Awaitable]) -> int:
    """Start `call(k)` at start + k*period/count (k = 0, 1, ...) until `end`; each call runs as its own task.

    This is the scrape pattern Prometheus would produce for `count` targets sharing one scrape interval:
    evenly spread, each target once per period. Returns how many calls were started; waits for all of them.
    """
    step = period / count
    tasks: set[asyncio.Task] = set()
    k = 0
    while True:
        due = start + k * step
        if due >= end:
            break
        await sleep_until(due)
        task = asyncio.create_task(call(k))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        k += 1
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    return k


async def every(period: float, start: float, end: float, call: Callable[[], Awaitable]) -> None:
    """Await `call()` at start, start+period, ... until `end` (sequentially; a slow call delays the next)."""
    k = 0
    while True:
        due = start + k * period
        if due >= end:
            return
        await sleep_until(due)
        await call()
        k += 1
