"""Probers: one module per protocol, each behind the same small interface.

A prober is built once per probe definition (`build(config, client)`) and then called once per run
(`await prober.probe()`). It returns a `ProbeResult` and never raises for anything the target does; the
caller owns the deadline (`run_with_deadline`), which covers DNS, connect, TLS and the whole response.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from slakit.exporter.config import FAILURE_REASONS, PROBER_FAILURE_REASONS

if TYPE_CHECKING:
    import aiohttp

    from slakit.exporter.config import ProbeConfig
    from slakit.exporter.webhooks.hub import WebhookHub

__all__ = ["FAILURE_REASONS", "ProbeResult", "Prober", "build_prober", "run_with_deadline"]


@dataclass(slots=True)
class ProbeResult:
    """What one probe run found. `reason` is one of FAILURE_REASONS when success is false."""

    success: bool
    reason: str | None = None
    status: int | None = None  # status code of the last HTTP response received, if any
    tls_expiry: float | None = None  # notAfter (Unix seconds) of the server certificate, when TLS was used
    detail: str = ""  # a short human explanation for logs; never contains secrets
    duration: float = 0.0  # seconds, filled in by run_with_deadline

    @classmethod
    def failed(cls, reason: str, detail: str, **kw: object) -> ProbeResult:
        assert reason in _ALL_REASONS, reason
        return cls(False, reason, detail=detail, **kw)  # type: ignore[arg-type]


class Prober(Protocol):
    async def probe(self) -> ProbeResult: ...

    def stale(self) -> bool:
        """True when the prober must be rebuilt although its definition is unchanged (files changed)."""
        ...


_ALL_REASONS = frozenset(r for reasons in PROBER_FAILURE_REASONS.values() for r in reasons)


def build_prober(config: ProbeConfig, client: aiohttp.ClientSession, hub: WebhookHub | None = None) -> Prober:
    if config.prober == "http":
        from slakit.exporter.probers.http import HTTPProber

        return HTTPProber(config, client)
    if config.prober == "outbound_webhook":
        from slakit.exporter.probers.outbound_webhook import OutboundWebhookProber

        return OutboundWebhookProber(config, client)
    if config.prober == "webhook":
        from slakit.exporter.probers.webhook import WebhookProber

        if hub is None:
            raise ValueError("prober webhook needs the exporter's webhook receiver")
        return WebhookProber(config, client, hub)
    raise ValueError(f"unknown prober {config.prober!r}")  # pragma: no cover - the config model forbids it


async def run_with_deadline(prober: Prober, timeout: float) -> ProbeResult:
    """Run one probe under one deadline; a deadline hit is the `timeout` reason, whatever the phase."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            result = await prober.probe()
    except TimeoutError:
        result = ProbeResult.failed("timeout", f"no complete answer within {timeout:g}s")
    result.duration = time.perf_counter() - start
    return result
