"""Steady client traffic against the fake API, so that error rates are meaningful (e.g. 20 requests/s)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp

USER_AGENT = "slakit-demo-traffic/1"
ORDER_EVERY = 5  # one request in five places an order (which is then delivered to the webhook)


class Traffic:
    """Sends `rate` requests per second on a fixed schedule, counting outcomes (`2xx`, `5xx`, `refused`...)."""

    def __init__(self, base_url: str, rate: float = 20.0) -> None:
        self.base_url, self.rate = base_url, rate
        self.outcomes: Counter[str] = Counter()
        self._task: asyncio.Task | None = None
        self._inflight: set[asyncio.Task] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        headers = {"User-Agent": USER_AGENT}
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            start, n = time.monotonic(), 0
            while True:
                n += 1
                await asyncio.sleep(max(0.0, start + n / self.rate - time.monotonic()))
                task = asyncio.create_task(self._one(session, n))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _one(self, session: aiohttp.ClientSession, n: int) -> None:
        try:
            if n % ORDER_EVERY == 0:
                request = session.post(f"{self.base_url}/api/v1/orders", json={"items": [{"id": "soup", "qty": 2}]})
            else:
                request = session.get(f"{self.base_url}/api/v1/menu")
            async with request as resp:
                await resp.read()
                self.outcomes[f"{resp.status // 100}xx"] += 1
        except aiohttp.ClientConnectionError:
            self.outcomes["refused"] += 1
        except TimeoutError:
            self.outcomes["timeout"] += 1
