"""The exporter's ticket desk forgets a month's resolved tickets once the month counts as reported."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slakit.exporter.tickets import SupportTicketsConfig, TicketDesk, last_reported_month
from slakit.spec.calendar import Month

REPO = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("now", "days", "expected"),
    [
        ("2026-05-11T00:00:00-04:00", 40, "2026-03"),  # March ends 1 April 00:00; + 40 days = 11 May: reported
        ("2026-05-10T23:59:00-04:00", 40, "2026-02"),  # one minute earlier: March not yet
        ("2026-02-09T12:00:00-05:00", 40, "2025-11"),  # across the new year
        ("2026-01-01T00:00:00-05:00", 0, "2025-12"),
    ],
)
def test_last_reported_month(now: str, days: int, expected: str) -> None:
    assert last_reported_month(ts(now), days * 24 * 60, NY) == Month.parse(expected)


def test_resolved_tickets_are_forgotten_after_the_delay_and_late_events_ignored(tmp_path: Path) -> None:
    clock = [ts("2026-03-20T12:00:00-04:00")]
    desk = TicketDesk(lambda: clock[0])
    desk.prepare([SupportTicketsConfig(spec=REPO / "rules" / "specs" / "erp-api.yaml")], tmp_path, "config")
    desk.commit()
    at = "2026-03-03T10:00:00-05:00"
    desk.apply("erp-api", {"id": "1", "type": "created", "ticket": "DONE", "priority": "urgent", "at": at})
    desk.apply("erp-api", {"id": "2", "type": "resolved", "ticket": "DONE", "at": "2026-03-04T10:00:00-05:00"})
    desk.apply("erp-api", {"id": "3", "type": "created", "ticket": "OPEN", "priority": "normal", "at": at})
    book = desk.book("erp-api")
    clock[0] = ts("2026-05-10T12:00:00-04:00")
    desk.render(False)
    assert set(book.tickets) == {"DONE", "OPEN"}  # March is not reported yet (40 days after its end)
    clock[0] = ts("2026-05-11T12:00:00-04:00")
    text = desk.render(False)[0]
    assert set(book.tickets) == {"OPEN"}  # resolved and reported: gone; open tickets stay
    assert 'slakit_support_open_tickets{service="erp-api",priority="normal"} 1' in text
    late = {"id": "4", "type": "created", "ticket": "LATE", "priority": "high", "at": "2026-03-30T10:00:00-04:00"}
    assert desk.apply("erp-api", late) is False  # dated in a reported month
    desk.close()
    # A new desk on the same state (a restart) remembers what was forgotten.
    again = TicketDesk(lambda: clock[0])
    again.prepare([SupportTicketsConfig(spec=REPO / "rules" / "specs" / "erp-api.yaml")], tmp_path, "config")
    again.commit()
    assert set(again.book("erp-api").tickets) == {"OPEN"}
    assert again.book("erp-api").reported_through == Month.parse("2026-03")
    again.close()
