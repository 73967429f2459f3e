"""The correlation hub: round-trip probes wait here for their delivery; the receiver hands deliveries in.

A delivery is judged in this order (the first that applies wins, and is its `result`):

1. `too_large` (by the receiver, before reading further), `bad_signature`, `stale` (timestamp outside the
   tolerance): the message is not authentic or not fresh. If it names the correlation id of a waiting probe,
   that probe fails with the same reason;
2. `malformed`: authentic, but no correlation id where the webhook probes say it is;
3. `replayed`: this correlation id was already delivered (ids are single-use);
4. `misrouted`: the id belongs to another replica (its probe there will time out; see docs/exporter.md);
5. `late`: the id's probe gave up (timeout) not long ago; `unknown`: an id this replica never issued;
6. `mismatch` / `accepted`: the waiting probe's expectations on the body failed / held; the probe completes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slakit.exporter.exposition import Family
from slakit.exporter.webhooks.correlation import new_id, replica_of
from slakit.exporter.webhooks.signing import verify

if TYPE_CHECKING:
    from slakit.exporter.config import ExporterConfig, WebhookProbeConfig, WebhookReceiverConfig

RESULTS = (
    "accepted",
    "mismatch",
    "bad_signature",
    "stale",
    "malformed",
    "replayed",
    "misrouted",
    "late",
    "unknown",
    "too_large",
)
STATUS = {
    "accepted": 202,
    "mismatch": 202,  # authentic: the sender did its job, the probe reports the content problem
    "bad_signature": 401,
    "stale": 400,
    "malformed": 400,
    "replayed": 409,
    "misrouted": 421,  # "Misdirected Request": a retry through the Service may reach the right replica
    "late": 202,
    "unknown": 202,
    "too_large": 413,
}
RECEPTIONS = Family(
    "slakit_webhook_receptions_total", "counter", "Deliveries received by the webhook receiver, by result."
)
MAX_REMEMBERED = 100_000  # ids kept for replay and lateness detection, at most
LATE_WINDOW = 600.0  # seconds an expired id is still recognised as `late`


@dataclass(frozen=True)
class Outcome:
    """What a waiting probe learns: reason None means the delivery was accepted."""

    reason: str | None
    detail: str = ""


@dataclass
class Expectation:
    """What a round-trip probe expects of its delivery's body."""

    expect: dict[str, Any] = field(default_factory=dict)
    must_match: list[re.Pattern[str]] = field(default_factory=list)

    @classmethod
    def of(cls, config: WebhookProbeConfig) -> Expectation:
        return cls(dict(config.expect), [re.compile(p) for p in config.body_must_match])

    def check(self, body: bytes, document: Any) -> str | None:
        """None if the body meets the expectations, else why not (for the probe's detail)."""
        for path, wanted in self.expect.items():
            found = lookup(document, path)
            if found is _MISSING:
                return f"delivery has no {path!r}"
            if found != wanted:
                return f"delivery's {path!r} is {found!r}, expected {wanted!r}"
        if self.must_match:
            text = body.decode("utf-8", errors="replace")
            for pattern in self.must_match:
                if not pattern.search(text):
                    return f"delivery body does not match {pattern.pattern!r}"
        return None


_MISSING = object()


def lookup(document: Any, path: str) -> Any:
    """`a.b.0.c` in parsed JSON, or _MISSING."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


class WebhookHub:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.config: WebhookReceiverConfig | None = None
        self.locations: list[tuple[str | None, str | None]] = []  # (header, JSON path) where ids travel
        self.pending: dict[str, tuple[Expectation, asyncio.Future[Outcome]]] = {}
        self.seen: dict[str, float] = {}  # delivered id → forget after
        self.expired: dict[str, float] = {}  # id whose probe gave up → forget after
        self.counts = dict.fromkeys(RESULTS, 0)

    def configure(self, config: ExporterConfig) -> None:
        self.config = config.webhook_receiver
        locations = {(p.webhook.delivery_header, p.webhook.delivery_field) for p in config.probes if p.webhook}
        self.locations = sorted(locations, key=str)

    # -- the probe's side --------------------------------------------------------------------------------

    def new_id(self) -> str:
        assert self.config is not None
        return new_id(self.config.replica_id)

    def expect(self, correlation_id: str, expectation: Expectation) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.pending[correlation_id] = (expectation, future)
        return future

    def forget(self, correlation_id: str) -> None:
        """The probe is done with this id; if nothing was delivered, a delivery from now on is `late`."""
        entry = self.pending.pop(correlation_id, None)
        if entry is not None and (entry[1].cancelled() or not entry[1].done()):  # the deadline cancels it
            entry[1].cancel()
            self._remember(self.expired, correlation_id, self.clock() + LATE_WINDOW)

    # -- the receiver's side -----------------------------------------------------------------------------

    def count(self, result: str) -> tuple[int, str]:
        self.counts[result] += 1
        return STATUS[result], result

    def receive(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Judge one delivery; returns (HTTP status, result)."""
        config = self.config
        assert config is not None
        now = self.clock()
        self._prune(now)
        document = _parse_json(body)
        correlation_id = self._find_id(headers, document)
        entry = self.pending.get(correlation_id) if correlation_id else None
        reason = verify(config.signature, headers, body, now)
        if reason is not None:
            if entry is not None:
                self._resolve(entry, Outcome(reason, f"delivery rejected: {reason}"))
            return self.count(reason)
        if correlation_id is None:
            return self.count("malformed")
        if correlation_id in self.seen:
            return self.count("replayed")
        ttl = 2 * config.signature.tolerance + LATE_WINDOW
        if replica_of(correlation_id) != config.replica_id:
            return self.count("misrouted")
        if entry is None:
            return self.count("late" if correlation_id in self.expired else "unknown")
        self._remember(self.seen, correlation_id, now + ttl)
        problem = entry[0].check(body, document)
        self._resolve(entry, Outcome("mismatch" if problem else None, problem or ""))
        return self.count("mismatch" if problem else "accepted")

    def _find_id(self, headers: Mapping[str, str], document: Any) -> str | None:
        found = None
        for header, path in self.locations:
            for value in (headers.get(header) if header else None, lookup(document, path) if path else None):
                if isinstance(value, str) and value:
                    if replica_of(value) is not None:
                        return value
                    found = found or value
        return found

    @staticmethod
    def _resolve(entry: tuple[Expectation, asyncio.Future[Outcome]], outcome: Outcome) -> None:
        if not entry[1].done():
            entry[1].set_result(outcome)

    @staticmethod
    def _remember(cache: dict[str, float], key: str, until: float) -> None:
        if len(cache) >= MAX_REMEMBERED:
            del cache[next(iter(cache))]  # the oldest entry (insertion order)
        cache[key] = until

    def _prune(self, now: float) -> None:
        for cache in (self.seen, self.expired):
            while cache:
                key = next(iter(cache))
                if cache[key] > now:
                    break
                del cache[key]

    def render(self, openmetrics: bool) -> list[str]:
        if self.config is None:
            return []
        lines = [RECEPTIONS.header(openmetrics)]
        lines += [f'{RECEPTIONS.name}{{result="{r}"}} {n}\n' for r, n in self.counts.items()]
        return ["".join(lines)]


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile nesting
        return None
