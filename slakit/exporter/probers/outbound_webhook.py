"""The outbound webhook prober: POST a signed sample payload to a customer's webhook URL, require 2xx.

An http probe (same client, deadline and failure reasons; see probers/http.py) whose body gets `{event_id}`
(fresh per run) and `{timestamp}` (Unix seconds) filled in and is signed per `outbound.signature` at send time.
Unless set explicitly, `valid_status_codes` is 200-299 and redirects are not followed (a redirected
webhook is a failed delivery).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from slakit.exporter.probers import ProbeResult
from slakit.exporter.probers.http import HTTPProber
from slakit.exporter.webhooks.signing import sign_headers

if TYPE_CHECKING:
    import aiohttp

    from slakit.exporter.config import ProbeConfig

SAMPLE_BODY = '{"type":"slakit.test","id":"{event_id}","created":{timestamp}}'


class OutboundWebhookProber(HTTPProber):
    def __init__(self, config: ProbeConfig, client: aiohttp.ClientSession) -> None:
        explicit = config.model_fields_set
        overrides: dict[str, object] = {}
        if "valid_status_codes" not in explicit:
            overrides["valid_status_codes"] = [(200, 299)]
        if "follow_redirects" not in explicit:
            overrides["follow_redirects"] = False
        super().__init__(config.model_copy(update=overrides) if overrides else config, client)
        assert config.outbound is not None
        self.signature = config.outbound.signature
        self.template = config.body if config.body is not None else SAMPLE_BODY
        self.base_headers = {"Content-Type": "application/json", **self.headers}

    async def probe(self) -> ProbeResult:
        now = time.time()
        body = self.template.replace("{event_id}", secrets.token_hex(16)).replace("{timestamp}", str(int(now)))
        self.body = body.encode()
        self.headers = {**self.base_headers, **sign_headers(self.signature, self.body, now)}
        return await super().probe()
