"""A month of synthetic, reproducible ERP API history, minute by minute: traffic, probe outcomes, incidents.

Steady traffic (by default 1 200 requests and 240 order deliveries a minute, i.e. the traffic generator's
20 requests/s) with a small 4xx share, and four incidents placed relative to the end of the history: a full
outage (probe down, nothing served), a 25 % 5xx burst, lost webhooks, and minutes in which the probe did not run
(unknown). All within the contract's monthly budgets, so the live demo starts from a compliant month.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

CODE_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
DAY = 1440  # minutes


@dataclass(frozen=True)
class Incident:
    kind: str  # outage | errors | lost_webhooks | no_probe
    first: int  # minutes before the end of the history
    minutes: int
    share: float = 1.0

    def covers(self, minutes_before_end: int) -> bool:
        return self.first >= minutes_before_end > self.first - self.minutes


INCIDENTS = (
    Incident("lost_webhooks", first=15 * DAY + 300, minutes=20, share=0.3),
    Incident("outage", first=9 * DAY + 123, minutes=14),
    Incident("errors", first=4 * DAY + 611, minutes=12, share=0.25),
    Incident("no_probe", first=2 * DAY + 77, minutes=6),
)


@dataclass
class Minute:
    """What happened in one UTC minute."""

    outcome: str  # up | down | none (no probe completed: unknown)
    requests: dict[str, int] = field(default_factory=dict)  # by code class
    deliveries: dict[str, int] = field(default_factory=dict)  # delivered | failed


def synthetic_minutes(count: int, *, rate: int = 1200, seed: int = 7, incidents=INCIDENTS) -> list[Minute]:  # type: ignore[no-untyped-def]
    """`count` minutes ending now-ish; minute i is `count - i` minutes before the end."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        before = count - i
        active = {inc.kind: inc for inc in incidents if inc.covers(before)}
        if "outage" in active:
            out.append(Minute("down", dict.fromkeys(CODE_CLASSES, 0), {"delivered": 0, "failed": 0}))
            continue
        total = rate + rng.randint(-rate // 20, rate // 20)
        orders = total // 5
        errors = round(total * active["errors"].share) if "errors" in active else int(rng.random() < 0.02)
        client = rng.randint(0, (total - errors) // 100)
        requests = {"1xx": 0, "2xx": total - errors - client, "3xx": 0, "4xx": client, "5xx": errors}
        lost = round(orders * active["lost_webhooks"].share) if "lost_webhooks" in active else 0
        outcome = "none" if "no_probe" in active else "up"
        out.append(Minute(outcome, requests, {"delivered": orders - lost, "failed": lost}))
    return out
