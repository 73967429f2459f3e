"""Minute accounting: classify every UTC wall-clock minute in which probes completed.

Pure and clock-free: callers pass the times. A probe result belongs to the minute in which it *completed*.
`close(now)` classifies every open minute that ended at or before `now`; minutes without any completed probe
are not counted at all (Prometheus sees no increment, reports call them unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MinuteRule = Literal["all_failed", "any_failed", "failure_ratio"]
MINUTE = 60


def minute_start(t: float) -> int:
    """Start (Unix seconds) of the UTC minute containing `t`."""
    return int(t // MINUTE) * MINUTE


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0


class MinuteAccounting:
    """Per-probe minute counters.

    `up` / `down` only ever grow. `stamp_ms` is the exclusive end of the last closed minute (ms); it starts
    at the start of the minute in which the accounting was created, and it advances together with the
    counters, so that (stamp_ms, up, down) is always one consistent sample.
    """

    def __init__(self, now: float, rule: MinuteRule = "all_failed", failure_ratio: float | None = None) -> None:
        self.up = 0
        self.down = 0
        self._closed_until = minute_start(now)  # seconds; every minute before this is closed
        self._open: dict[int, _Tally] = {}
        self.set_rule(rule, failure_ratio)

    def set_rule(self, rule: MinuteRule, failure_ratio: float | None = None) -> None:
        """Change the rule; it applies to the minutes closed from now on."""
        if rule == "failure_ratio" and not (failure_ratio is not None and 0 < failure_ratio <= 1):
            raise ValueError("failure_ratio rule needs 0 < failure_ratio <= 1")
        self.rule: MinuteRule = rule
        self.failure_ratio = failure_ratio

    @property
    def stamp_ms(self) -> int:
        return self._closed_until * 1000

    @property
    def closed_until(self) -> int:
        return self._closed_until

    def record(self, completed_at: float, success: bool) -> None:
        """Count one completed probe in the minute of `completed_at`.

        A result whose minute is already closed (a clock step back, or a completion processed after its
        minute was closed) is counted in the first open minute instead: it is never lost, never re-opens a
        minute, and never changes a sample that Prometheus may already have stored.
        """
        minute = max(minute_start(completed_at), self._closed_until)
        tally = self._open.get(minute)
        if tally is None:
            tally = self._open[minute] = _Tally()
        if success:
            tally.ok += 1
        else:
            tally.failed += 1

    def classify(self, tally: _Tally) -> Literal["up", "down"]:
        total = tally.ok + tally.failed
        if self.rule == "any_failed":
            return "down" if tally.failed else "up"
        if self.rule == "failure_ratio":
            assert self.failure_ratio is not None
            return "down" if tally.failed / total >= self.failure_ratio else "up"
        return "down" if tally.ok == 0 else "up"

    def close(self, now: float) -> list[tuple[int, Literal["up", "down"]]]:
        """Close every minute that ended at or before `now`; return (start, outcome) of counted ones."""
        until = minute_start(now)
        if until <= self._closed_until:
            return []
        outcomes = []
        for minute in sorted(m for m in self._open if m < until):
            tally = self._open.pop(minute)
            outcome = self.classify(tally)
            if outcome == "up":
                self.up += 1
            else:
                self.down += 1
            outcomes.append((minute, outcome))
        self._closed_until = until
        return outcomes
