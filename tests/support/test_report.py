"""The monthly support report on the hand-computed stream of test_tickets."""

from __future__ import annotations

import pytest

from slakit.support.report import month_report
from slakit.support.tickets import TicketBook
from tests.support.test_tickets import POLICY, STREAM, ev


@pytest.fixture
def book(tmp_path):
    book = TicketBook(tmp_path, POLICY, "erp-api")
    for e in STREAM:
        book.apply(e)
    # Response due 23:00 on March 31st, answered on April 1st: overdue at the end of March, breached in April.
    book.apply(ev(90, "created", "T8", "2026-03-31 22:00", "urgent"))
    book.apply(ev(91, "acknowledged", "T8", "2026-04-01 08:30"))
    yield book
    book.close()


def test_march(book):
    report = month_report(book, "2026-03", worst=3)
    assert report["tickets"] == {
        "urgent": {"response": {"met": 1, "breached": 1}, "resolution": {"met": 3, "breached": 1}},
        "high": {"response": {"met": 1, "breached": 1}, "resolution": {"met": 1, "breached": 0}},
        "normal": {"response": {"met": 1, "breached": 0}, "resolution": {"met": 0, "breached": 0}},
    }
    # T6 took 72 h 01 min of its 72 h; T5 all of its 170 h 50 min (resolved at the deadline); T2 119 h 59 min of 120 h.
    resolution = report["worst"]["resolution"]
    assert [r["ticket"] for r in resolution] == ["T6", "T5", "T2"]
    assert [(r["used_seconds"], r["allowance_seconds"]) for r in resolution] == [
        (72 * 3600 + 60, 72 * 3600),
        ((170 * 60 + 50) * 60, (170 * 60 + 50) * 60),
        (120 * 3600 - 60, 120 * 3600),
    ]
    # T7: 90 of 60 support minutes; T2: 61 (counting from 07:00); T1: 45.
    response = report["worst"]["response"]
    assert [(r["ticket"], r["used_seconds"] / 60, r["outcome"]) for r in response] == [
        ("T7", 90, "breached"),
        ("T2", 61, "breached"),
        ("T1", 45, "met"),
    ]
    assert report["overdue_at_month_end"] == [
        {"ticket": "T8", "priority": "urgent", "target": "response", "due": "2026-04-01T03:00:00+00:00"}
    ]


def test_april_counts_the_late_answer(book):
    report = month_report(book, "2026-04")
    assert report["tickets"]["urgent"]["response"] == {"met": 0, "breached": 1}
    # T8 was never resolved: 3 working days from Wed 04-01 08:30 ran out Mon 04-06 08:30 EDT.
    assert report["overdue_at_month_end"] == [
        {"ticket": "T8", "priority": "urgent", "target": "resolution", "due": "2026-04-06T12:30:00+00:00"}
    ]
