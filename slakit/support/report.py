"""The support section of a monthly report, from a ticket book (before `forget_reported` drops the month).

A ticket's outcome for a target belongs to the month in which it was decided (its first acknowledgement or
first resolution), in the book's zone, as in the metrics and rules. Tickets still open at the end of the month
and past a deadline are listed as overdue: their breach is counted in the month the event arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slakit.spec.calendar import Month, month_start
from slakit.support.tickets import OUTCOMES, TARGETS, Ticket, TicketBook


def month_report(book: TicketBook, month: str | Month, worst: int = 5) -> dict[str, Any]:
    """Counts per priority, target and outcome; the `worst` tickets per target by share of allowance used."""
    month = Month.parse(month) if isinstance(month, str) else month
    start = datetime.fromtimestamp(month_start(month, book.zone), UTC)
    end = datetime.fromtimestamp(month_start(month.next(), book.zone), UTC)
    counts = {p: {t: dict.fromkeys(OUTCOMES, 0) for t in TARGETS} for p in book.policy.priorities}
    cases: dict[str, list[dict[str, Any]]] = {t: [] for t in TARGETS}
    overdue = []
    for ticket in book.tickets.values():
        for target, info in ticket.detail.items():
            if not start <= datetime.fromisoformat(info["at"]) < end:
                continue
            outcome, priority = ticket.decided[target], info["priority"]  # counted under the priority of then
            counts.setdefault(priority, {t: dict.fromkeys(OUTCOMES, 0) for t in TARGETS})
            counts[priority][target][outcome] += 1
            cases[target].append(
                {
                    "ticket": ticket.id,
                    "priority": priority,
                    "outcome": outcome,
                    "used_seconds": info["used_us"] / 1e6,
                    "allowance_seconds": info["allowance_us"] / 1e6,
                    "share_used": info["used_us"] / info["allowance_us"] if info["allowance_us"] else None,
                }
            )
        for target in TARGETS:
            due = _overdue_at(ticket, target, end)
            if due is not None:
                overdue.append({"ticket": ticket.id, "priority": ticket.priority, "target": target, "due": due})
    for rows in cases.values():
        rows.sort(key=lambda r: (-(r["share_used"] or 0), r["ticket"]))
        del rows[worst:]
    overdue.sort(key=lambda r: (r["due"], r["ticket"]))
    return {
        "month": str(month),
        "service": book.service,
        "tickets": counts,
        "worst": cases,
        "overdue_at_month_end": [{**r, "due": r["due"].isoformat()} for r in overdue],
    }


def _overdue_at(ticket: Ticket, target: str, end: datetime) -> datetime | None:
    """The deadline a ticket had missed at `end` without being answered/resolved by then (None if not)."""
    info = ticket.detail.get(target)
    if info is not None:
        due = datetime.fromisoformat(info["due"])
        return due if due < end <= datetime.fromisoformat(info["at"]) else None
    clock = ticket.response if target == "response" else ticket.resolution
    return clock.due if clock is not None and clock.due < end else None
