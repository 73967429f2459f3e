"""The ticket book: support tickets driven by lifecycle events, judged against the spec's support targets.

Events are dicts (one JSON object each), with a unique `id` that makes them idempotent:

    {"id": "e1", "type": "created", "ticket": "T-7", "priority": "urgent", "at": "2026-03-03T10:00:00-05:00"}
    {"id": "e2", "type": "acknowledged", "ticket": "T-7", "at": "..."}      # or "first_response"
    {"id": "e3", "type": "resolved", "ticket": "T-7", "at": "..."}
    {"id": "e4", "type": "reopened", "ticket": "T-7", "at": "..."}
    {"id": "e5", "type": "priority_changed", "ticket": "T-7", "priority": "high", "at": "..."}

`at` is RFC 3339 with an offset (or `Z`), or Unix seconds. Other keys are ignored. The rules (docs/support.md):

* Response: due `response` business time after `created` (counting from the next opening of its calendar);
  met if the first `acknowledged` (or, failing one, `resolved`) is at or before the deadline.
* Resolution: the clock starts at the later of created and acknowledged ("reported *and* acknowledged"); due
  the priority's allowance later; met if `resolved` is at or before the deadline.
* Each ticket's outcome per target is counted once, when decided by an event. An open ticket past its
  deadline is *overdue* (a gauge) until the event arrives; `tick(now)` moves at-risk and overdue gauges.
* `reopened`: the decided outcome stands (counted once); the ticket is open again and its resolution clock
  resumes with the business time it had left at its resolution (none left: overdue at once).
* `priority_changed`: the new priority's allowance counted from the clock start; if that deadline has already
  passed at the change, the new allowance counted from the change, never later than the old deadline.
* Tickets resolved in a month are forgotten once `forget_reported(month)` says that month was reported;
  later events about them, and about unknown tickets of reported months, are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slakit.spec.calendar import Month, month_start
from slakit.spec.support import SupportPolicy
from slakit.support.business_time import BusinessCalendar, deadline, elapsed
from slakit.support.journal import Journal

TYPES = ("created", "acknowledged", "first_response", "resolved", "reopened", "priority_changed")
TARGETS = ("response", "resolution")
OUTCOMES = ("met", "breached")
MAX_ID = 128
# Event times outside these years are refused (a typo would make deadlines and holiday tables explode).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Journal records kept before the state is compacted into a new snapshot.
COMPACT_AFTER = 10_000


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    ticket: str
    at: datetime
    priority: str | None = None

    def record(self) -> dict[str, Any]:
        out = {"id": self.id, "type": self.type, "ticket": self.ticket, "at": _iso(self.at)}
        if self.priority is not None:
            out["priority"] = self.priority
        return out


def parse_event(event: Any, priorities: list[str]) -> Event:
    """Validate one event; ValueError names the offending field."""
    if not isinstance(event, Mapping):
        raise ValueError(f"event must be a JSON object, not {type(event).__name__}")
    ident, kind, ticket = (_text(event, key) for key in ("id", "type", "ticket"))
    if kind not in TYPES:
        raise ValueError(f"type: unknown event type {kind!r} (expected one of {', '.join(TYPES)})")
    priority = None
    if kind in ("created", "priority_changed"):
        priority = _text(event, "priority")
        if priority not in priorities:
            raise ValueError(f"priority: unknown priority {priority!r} (expected one of {', '.join(priorities)})")
    return Event(ident, "acknowledged" if kind == "first_response" else kind, ticket, _instant(event), priority)


def _text(event: Mapping, key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: required, a non-empty string")
    if len(value) > MAX_ID or not value.isprintable():
        raise ValueError(f"{key}: at most {MAX_ID} printable characters")
    return value


def _instant(event: Mapping) -> datetime:
    value = event.get("at")
    if isinstance(value, bool) or value is None:
        raise ValueError("at: required, an RFC 3339 timestamp with offset or Unix seconds")
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value))
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"at: invalid timestamp {value!r} (expected e.g. 2026-03-03T10:00:00-05:00)") from None
    if parsed.tzinfo is None:
        raise ValueError(f"at: timestamp {value!r} has no UTC offset")
    parsed = parsed.astimezone(UTC)
    if not EARLIEST <= parsed < LATEST:
        raise ValueError(f"at: timestamp {value!r} outside {EARLIEST.year}-{LATEST.year - 1}")
    return parsed


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass
class Clock:
    """One target's running clock: due at `due`; at risk once `now > at_risk_after`."""

    due: datetime
    at_risk_after: datetime


@dataclass
class Ticket:
    id: str
    priority: str
    reported: datetime
    response: Clock
    responded: datetime | None = None
    clock_start: datetime | None = None  # resolution clock: later of reported and acknowledged
    episode_start: datetime | None = None  # the clock's start, or the last reopen
    used: timedelta = timedelta()  # resolution business time used in episodes before the current one
    resolution: Clock | None = None
    resolved: datetime | None = None
    decided: dict[str, str] = field(default_factory=dict)  # target -> outcome, set once
    # target -> {"priority", "at": decided at, "due": deadline then, "used_us": time taken, "allowance_us": allowed}
    detail: dict[str, dict[str, Any]] = field(default_factory=dict)
    reopens: int = 0
    events: set[str] = field(default_factory=set)

    @property
    def open(self) -> bool:
        return self.resolved is None

    def to_json(self) -> dict[str, Any]:
        clock = lambda c: None if c is None else [_iso(c.due), _iso(c.at_risk_after)]  # noqa: E731
        return {
            "id": self.id,
            "priority": self.priority,
            "reported": _iso(self.reported),
            "response": clock(self.response),
            "responded": _iso(self.responded),
            "clock_start": _iso(self.clock_start),
            "episode_start": _iso(self.episode_start),
            "used_us": self.used // timedelta(microseconds=1),
            "resolution": clock(self.resolution),
            "resolved": _iso(self.resolved),
            "decided": self.decided,
            "detail": self.detail,
            "reopens": self.reopens,
            "events": sorted(self.events),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ticket:
        clock = lambda c: None if c is None else Clock(_time(c[0]), _time(c[1]))  # noqa: E731
        return cls(
            id=data["id"],
            priority=data["priority"],
            reported=_time(data["reported"]),
            response=clock(data["response"]),
            responded=_time(data["responded"]),
            clock_start=_time(data["clock_start"]),
            episode_start=_time(data["episode_start"]),
            used=timedelta(microseconds=data["used_us"]),
            resolution=clock(data["resolution"]),
            resolved=_time(data["resolved"]),
            decided=dict(data["decided"]),
            detail=dict(data.get("detail", {})),
            reopens=data["reopens"],
            events=set(data["events"]),
        )


class TicketBook:
    """Per-ticket state of one service, durable in `state_dir`; see the module docstring for the rules.

    Not thread-safe: call it from one thread (the exporter's event loop). Every applied event is fsync'd
    before `apply` returns.
    """

    def __init__(
        self, state_dir: str | Path, policy: SupportPolicy, service: str, month_zone: str | None = None
    ) -> None:
        self.policy = policy
        self.service = service
        self.zone = policy.response_calendar().zone if month_zone is None else _zone(month_zone)
        self.tickets: dict[str, Ticket] = {}
        self.counts = {
            (p, t, o): 0 for p in policy.priorities for t in TARGETS for o in OUTCOMES
        }  # (priority, target, outcome) -> tickets
        self.reopens = dict.fromkeys(policy.priorities, 0)
        self.reported_through: Month | None = None
        self.seq = 0
        self.now: datetime | None = None
        self.journal = Journal(state_dir)
        snapshot, records = self.journal.load()
        if snapshot is not None:
            self._restore(snapshot)
        for record in records:
            self.seq = record["seq"]
            self._apply(parse_event(record, policy.priorities))

    # -- events ------------------------------------------------------------------------------------------

    def apply(self, event: Mapping[str, Any]) -> bool:
        """Apply one event durably. False when it is ignored: a duplicate `id`, or about a reported month.

        Raises ValueError (naming the field) for an invalid event or one that contradicts the ticket's state.
        """
        parsed = parse_event(event, self.policy.priorities)
        if not self._check(parsed):
            return False
        self.seq += 1
        self.journal.append({"seq": self.seq, **parsed.record()})
        self._apply(parsed)
        if self.journal.records >= COMPACT_AFTER:
            self.compact()
        return True

    def _check(self, event: Event) -> bool:
        ticket = self.tickets.get(event.ticket)
        if ticket is None:
            if self._in_reported_month(event.at):
                return False
            if event.type != "created":
                raise ValueError(f"ticket: unknown ticket {event.ticket!r} ({event.type} before created)")
            return True
        if event.id in ticket.events:
            return False
        if event.type == "created":
            raise ValueError(f"ticket: ticket {event.ticket!r} was already created (event {event.id!r})")
        if event.type == "reopened":
            if ticket.open:
                raise ValueError(f"ticket: ticket {event.ticket!r} is not resolved, cannot be reopened")
            if event.at < ticket.resolved:
                raise ValueError(f"at: reopened before ticket {event.ticket!r} was resolved ({_iso(ticket.resolved)})")
        return True

    def _apply(self, event: Event) -> None:
        if not self._check(event):
            return
        if event.type == "created":
            self.tickets[event.ticket] = self._create(event)
        ticket = self.tickets[event.ticket]
        ticket.events.add(event.id)
        if event.type == "acknowledged":
            self._acknowledge(ticket, event.at)
        elif event.type == "resolved":
            self._resolve(ticket, event.at)
        elif event.type == "reopened":
            self._reopen(ticket, event.at)
        elif event.type == "priority_changed":
            self._change_priority(ticket, event.priority, event.at)

    def _create(self, event: Event) -> Ticket:
        target = self.policy.response
        cal = self.policy.response_calendar()
        return Ticket(event.ticket, event.priority, event.at, self._clock(event.at, target.allowance, cal))

    def _acknowledge(self, ticket: Ticket, at: datetime) -> None:
        if ticket.responded is not None:
            return
        ticket.responded = at
        self._decide(ticket, "response", at, ticket.reported, ticket.response.due, self.policy.response_calendar())
        if ticket.open:
            ticket.clock_start = ticket.episode_start = max(ticket.reported, at)
            ticket.resolution = self._resolution_clock(ticket, ticket.priority)

    def _resolve(self, ticket: Ticket, at: datetime) -> None:
        if not ticket.open:
            return
        self._acknowledge(ticket, at)  # a resolution is also the first response (and starts the clock)
        cal = self.policy.resolution_calendar(ticket.priority)
        ticket.used += elapsed(ticket.episode_start, at, cal)
        ticket.resolved = at
        self._decide(ticket, "resolution", at, ticket.clock_start, ticket.resolution.due, cal)

    def _reopen(self, ticket: Ticket, at: datetime) -> None:
        ticket.resolved = None
        ticket.reopens += 1
        self.reopens[ticket.priority] += 1
        ticket.episode_start = at
        ticket.resolution = self._resolution_clock(ticket, ticket.priority)

    def _change_priority(self, ticket: Ticket, priority: str, at: datetime) -> None:
        old = ticket.resolution
        ticket.priority = priority
        if ticket.clock_start is None:
            return
        clock = self._resolution_clock(ticket, priority)
        if ticket.open and clock.due <= at:
            # The new allowance already ran out: count it from the change, never past the old deadline.
            cal = self.policy.resolution_calendar(priority)
            clock = self._clock(at, self.policy.resolution[priority].allowance, cal)
            if old is not None and old.due < clock.due:
                clock = self._risk(at, old.due, cal, elapsed(at, clock.due, cal))
        ticket.resolution = clock

    def _resolution_clock(self, ticket: Ticket, priority: str) -> Clock:
        """The resolution clock of the current episode, under `priority`'s allowance."""
        target = self.policy.resolution[priority]
        cal = self.policy.resolution_calendar(priority)
        if ticket.reopens == 0:
            return self._clock(ticket.clock_start, target.allowance, cal)
        total = elapsed(ticket.clock_start, deadline(ticket.clock_start, target.allowance, cal), cal)
        left = total - ticket.used
        if left <= timedelta():
            return Clock(ticket.episode_start, ticket.episode_start)
        return self._clock(ticket.episode_start, left, cal, total)

    def _clock(self, start: datetime, allowance, cal: BusinessCalendar, total: timedelta | None = None) -> Clock:
        return self._risk(start, deadline(start, allowance, cal), cal, total)

    def _risk(self, start: datetime, due: datetime, cal: BusinessCalendar, total: timedelta | None = None) -> Clock:
        """A clock running from `start` to `due`, at risk once less than `at_risk` of `total` is left
        (`total` defaults to the business time from start to due)."""
        span = elapsed(start, due, cal)
        total = span if total is None else total
        share = self.policy.at_risk
        left = timedelta(microseconds=total // timedelta(microseconds=1) * share.numerator // share.denominator)
        before = span - left
        if before < timedelta():
            return Clock(due, start)
        # Remaining < share × total  ⇔  elapsed(start, now) > before  ⇔  now > the first open instant after it.
        point = start if before == timedelta() else deadline(start, before, cal)
        return Clock(due, cal.next_open(point))

    def _decide(
        self, ticket: Ticket, target: str, at: datetime, start: datetime, due: datetime, cal: BusinessCalendar
    ) -> None:
        """Count the target's outcome once: met when `at` is at or before `due`."""
        if target in ticket.decided:
            return
        outcome = "met" if at <= due else "breached"
        ticket.decided[target] = outcome
        us = timedelta(microseconds=1)
        ticket.detail[target] = {
            "priority": ticket.priority,
            "at": _iso(at),
            "used_us": elapsed(start, at, cal) // us,
            "allowance_us": elapsed(start, due, cal) // us,
            "due": _iso(due),
        }
        self.counts[(ticket.priority, target, outcome)] += 1

    # -- time ---------------------------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Recompute the at-risk and overdue gauges of open tickets as of `now`."""
        if now.tzinfo is None:
            raise ValueError("tick() needs an aware datetime")
        self.now = now.astimezone(UTC)

    def _empty_gauges(self) -> dict[str, dict]:
        keys = [(p, t) for p in self.policy.priorities for t in TARGETS]
        return {
            "open": dict.fromkeys(self.policy.priorities, 0),
            "at_risk": dict.fromkeys(keys, 0),
            "overdue": dict.fromkeys(keys, 0),
            "next_due": {},
        }

    def gauges(self) -> dict[str, dict]:
        """Open tickets per priority; at-risk and overdue ones per (priority, target) as of the last tick;
        the earliest open deadline per (priority, target)."""
        gauges = self._empty_gauges()
        now = self.now
        for ticket in self.tickets.values():
            if not ticket.open:
                continue
            gauges["open"][ticket.priority] += 1
            response = ticket.response if ticket.responded is None else None
            clocks = {"response": response, "resolution": ticket.resolution}
            for target, clock in clocks.items():
                if clock is None:
                    continue
                key = (ticket.priority, target)
                if key not in gauges["next_due"] or clock.due < gauges["next_due"][key]:
                    gauges["next_due"][key] = clock.due
                if now is None:
                    continue
                if now > clock.due:
                    gauges["overdue"][key] += 1
                elif now > clock.at_risk_after:
                    gauges["at_risk"][key] += 1
        return gauges

    # -- months ---------------------------------------------------------------------------------------------

    def _in_reported_month(self, instant: datetime) -> bool:
        if self.reported_through is None:
            return False
        return instant.timestamp() < month_start(self.reported_through.next(), self.zone)

    def forget_reported(self, month: str | Month) -> int:
        """`month` (YYYY-MM, in the book's zone) and all before it are reported: forget their resolved tickets.

        Returns how many tickets were forgotten; the state is compacted into a new snapshot.
        """
        month = Month.parse(month) if isinstance(month, str) else month
        end = month_start(month.next(), self.zone)
        gone = [k for k, t in self.tickets.items() if not t.open and t.resolved.timestamp() < end]
        for key in gone:
            del self.tickets[key]
        if self.reported_through is None or month > self.reported_through:
            self.reported_through = month
        self.compact()
        return len(gone)

    # -- persistence ----------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "service": self.service,
            "seq": self.seq,
            "reported_through": None if self.reported_through is None else str(self.reported_through),
            "counts": [[p, t, o, n] for (p, t, o), n in self.counts.items()],
            "reopens": self.reopens,
            "tickets": [t.to_json() for t in self.tickets.values()],
        }

    def _restore(self, data: dict[str, Any]) -> None:
        if data.get("version") != 1 or data.get("service") != self.service:
            raise ValueError(f"{self.journal.snapshot_path}: snapshot of service {data.get('service')!r}, not ours")
        self.seq = data["seq"]
        self.reported_through = Month.parse(data["reported_through"]) if data["reported_through"] else None
        for p, t, o, n in data["counts"]:
            self.counts[(p, t, o)] = n  # a priority removed from the spec keeps its count until restart
        for p, n in data["reopens"].items():
            self.reopens[p] = n
        self.tickets = {t["id"]: Ticket.from_json(t) for t in data["tickets"]}

    def compact(self) -> None:
        self.journal.compact(self.snapshot())

    def close(self) -> None:
        self.journal.close()

    def render(self, openmetrics: bool = False) -> str:
        from slakit.support.metrics import render

        return render(self, openmetrics)


def _zone(name: str):
    from slakit.spec.calendar import zone

    return zone(name)
