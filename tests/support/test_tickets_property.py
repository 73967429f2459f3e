"""Ticket book properties (hypothesis): gauges follow their definition; restarts and duplicates change nothing."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slakit.support.business_time import elapsed
from slakit.support.tickets import TicketBook
from tests.support.test_tickets import POLICY

BASE = datetime(2026, 3, 2, 5, tzinfo=UTC)  # Monday 00:00 EST; the DST change is 6 days later
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
minutes = st.integers(0, 21 * 1440)


def instant(m: int) -> str:
    return (BASE + timedelta(minutes=m)).isoformat()


@SETTINGS
@given(minutes, st.integers(0, 600), minutes, st.sampled_from(POLICY.priorities))
def test_at_risk_and_overdue_follow_their_definition(created, ack_after, now_m, priority):
    """At risk ⇔ not overdue and remaining business time < 25 % of the allowance; overdue ⇔ now > deadline."""
    with tempfile.TemporaryDirectory() as tmp:
        book = TicketBook(tmp, POLICY, "erp-api")
        book.apply({"id": "c", "type": "created", "ticket": "T", "priority": priority, "at": instant(created)})
        now = BASE + timedelta(minutes=now_m, seconds=30)
        ticket = book.tickets["T"]
        expected = {"response": (ticket.reported, ticket.response.due)}
        if ack_after < 300:  # acknowledged: the response clock stops and the resolution clock runs
            book.apply({"id": "a", "type": "acknowledged", "ticket": "T", "at": instant(created + ack_after)})
            expected = {"resolution": (ticket.clock_start, ticket.resolution.due)}
        book.tick(now)
        gauges = book.gauges()
        for target in ("response", "resolution"):
            risk, late = gauges["at_risk"][(priority, target)], gauges["overdue"][(priority, target)]
            if target not in expected:
                assert (risk, late) == (0, 0)
                continue
            start, due = expected[target]
            cal = POLICY.response_calendar() if target == "response" else POLICY.resolution_calendar(priority)
            total = elapsed(start, due, cal)
            assert late == (now > due)
            assert risk == (now <= due and elapsed(now, due, cal) * 4 < total)
        book.close()


event = st.tuples(
    st.sampled_from(["created", "acknowledged", "resolved", "reopened", "priority_changed"]),
    st.sampled_from(["A", "B", "C"]),
    minutes,
    st.sampled_from(POLICY.priorities),
)


def apply(book: TicketBook, n: int, e: tuple) -> bool | str:
    kind, ticket, m, priority = e
    try:
        return book.apply({"id": f"e{n}", "type": kind, "ticket": ticket, "priority": priority, "at": instant(m)})
    except ValueError as exc:
        return f"refused: {exc}"


@SETTINGS
@given(st.lists(event, min_size=1, max_size=30), st.sets(st.integers(0, 30)), st.data())
def test_restarts_and_replays_change_nothing(events, cuts, data):
    with tempfile.TemporaryDirectory() as tmp:
        straight = TicketBook(Path(tmp) / "a", POLICY, "erp-api")
        expected = [apply(straight, n, e) for n, e in enumerate(events)]
        book = TicketBook(Path(tmp) / "b", POLICY, "erp-api")
        results = []
        for n, e in enumerate(events):
            if n in cuts:
                book.close()
                book = TicketBook(Path(tmp) / "b", POLICY, "erp-api")
                accepted = [i for i, r in enumerate(results) if r is True]
                if accepted:  # the source re-delivers an event it already delivered
                    again = data.draw(st.sampled_from(accepted))
                    assert apply(book, again, events[again]) is False
            results.append(apply(book, n, e))
        assert results == expected
        now = BASE + timedelta(days=10)
        straight.tick(now)
        book.tick(now)
        assert book.snapshot() == straight.snapshot()
        assert book.render() == straight.render()
        straight.close()
        book.close()
