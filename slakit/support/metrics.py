"""Prometheus exposition of a ticket book: bounded label sets (service, priority, target, outcome), no ticket ids.

`render` returns the families only (no `# EOF`): the exporter appends them to its own `/metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.utils import floatToGoString

from slakit.exporter.exposition import Family, escape
from slakit.support.tickets import OUTCOMES, TARGETS

if TYPE_CHECKING:
    from slakit.support.tickets import TicketBook

TICKETS = Family(
    "slakit_support_tickets_total",
    "counter",
    "Support tickets whose response or resolution target was decided (by an acknowledgement or resolution).",
)
OPEN = Family("slakit_support_open_tickets", "gauge", "Unresolved support tickets.")
AT_RISK = Family(
    "slakit_support_tickets_at_risk",
    "gauge",
    "Open tickets with less than the at-risk share of their business-time allowance left, not yet overdue.",
)
OVERDUE = Family(
    "slakit_support_tickets_overdue",
    "gauge",
    "Open tickets past their deadline; counted as breached when acknowledged or resolved.",
)
REOPENS = Family("slakit_support_ticket_reopens_total", "counter", "Resolved support tickets reopened.")
NEXT_DEADLINE = Family(
    "slakit_support_next_deadline_timestamp_seconds",
    "gauge",
    "Earliest deadline among open tickets (Unix seconds); absent when none is running.",
)
FAMILIES = (TICKETS, OPEN, AT_RISK, OVERDUE, REOPENS, NEXT_DEADLINE)


def render(book: TicketBook, openmetrics: bool = False) -> str:
    service = f'service="{escape(book.service)}"'
    gauges = book.gauges()
    priorities = list(dict.fromkeys([*book.policy.priorities, *(p for p, _, _ in book.counts)]))
    lines = [TICKETS.header(openmetrics)]
    for p in priorities:
        for t in TARGETS:
            for o in OUTCOMES:
                n = book.counts.get((p, t, o), 0)
                lines.append(f'{TICKETS.name}{{{service},priority="{escape(p)}",target="{t}",outcome="{o}"}} {n}\n')
    lines.append(OPEN.header(openmetrics))
    lines += [f'{OPEN.name}{{{service},priority="{escape(p)}"}} {n}\n' for p, n in gauges["open"].items()]
    for family, key in ((AT_RISK, "at_risk"), (OVERDUE, "overdue")):
        lines.append(family.header(openmetrics))
        lines += [
            f'{family.name}{{{service},priority="{escape(p)}",target="{t}"}} {n}\n' for (p, t), n in gauges[key].items()
        ]
    lines.append(REOPENS.header(openmetrics))
    lines += [f'{REOPENS.name}{{{service},priority="{escape(p)}"}} {n}\n' for p, n in book.reopens.items()]
    lines.append(NEXT_DEADLINE.header(openmetrics))
    lines += [
        f'{NEXT_DEADLINE.name}{{{service},priority="{escape(p)}",target="{t}"}} {floatToGoString(due.timestamp())}\n'
        for (p, t), due in sorted(gauges["next_due"].items())
    ]
    return "".join(lines)
