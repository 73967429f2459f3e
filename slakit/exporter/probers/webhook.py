"""The webhook round-trip prober.

Per run: issue a fresh correlation id (`slakit-<hex>-<replica id>`), register it with the hub, send the
trigger request (the probe's `url`/`method`/`headers`/`body`, with `{correlation_id}` and `{callback_url}`
replaced, and the id in `webhook.trigger_header`), then wait for the delivery of that id at this exporter's
receiver. The probe's one `timeout` covers trigger and delivery; its duration is trigger-to-delivery.

Failure reasons: `trigger_failed` (the trigger request failed as an http probe would: the http reason is in
the detail), `timeout` (no accepted delivery within the deadline, or the trigger still running then),
`bad_signature`, `stale` (a delivery of this id failed verification), `mismatch` (the authentic delivery's
body does not meet `webhook.expect` / `webhook.body_must_match`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yarl import URL

from slakit.exporter.probers import ProbeResult
from slakit.exporter.probers.http import HTTPProber
from slakit.exporter.webhooks.hub import Expectation, WebhookHub

if TYPE_CHECKING:
    import aiohttp

    from slakit.exporter.config import ProbeConfig


class WebhookProber:
    def __init__(self, config: ProbeConfig, client: aiohttp.ClientSession, hub: WebhookHub) -> None:
        assert config.webhook is not None
        self.config = config
        self.hub = hub
        self.trigger = HTTPProber(config, client)
        self.expectation = Expectation.of(config.webhook)
        self.base_headers = dict(self.trigger.headers)

    def stale(self) -> bool:
        return self.trigger.stale()

    def _fill(self, text: str, correlation_id: str) -> str:
        assert self.hub.config is not None
        return text.replace("{correlation_id}", correlation_id).replace("{callback_url}", self.hub.config.callback_url)

    async def probe(self) -> ProbeResult:
        webhook = self.config.webhook
        assert webhook is not None
        correlation_id = self.hub.new_id()
        delivered = self.hub.expect(correlation_id, self.expectation)
        try:
            trigger = self.trigger
            trigger.url = URL(self._fill(self.config.url, correlation_id))
            trigger.headers = {k: self._fill(v, correlation_id) for k, v in self.base_headers.items()}
            if webhook.trigger_header:
                trigger.headers[webhook.trigger_header] = correlation_id
            if self.config.body is not None:
                trigger.body = self._fill(self.config.body, correlation_id).encode()
            sent = await trigger.probe()
            if not sent.success:
                return ProbeResult.failed(
                    "trigger_failed",
                    f"trigger {sent.reason}: {sent.detail}",
                    status=sent.status,
                    tls_expiry=sent.tls_expiry,
                )
            outcome = await delivered
            if outcome.reason is not None:
                return ProbeResult.failed(
                    outcome.reason, outcome.detail, status=sent.status, tls_expiry=sent.tls_expiry
                )
            return ProbeResult(True, status=sent.status, tls_expiry=sent.tls_expiry)
        finally:
            self.hub.forget(correlation_id)
