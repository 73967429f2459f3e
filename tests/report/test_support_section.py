"""The report's support section, read from a copy of a ticket book that the exporter still holds open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slakit.errors import InputError
from slakit.report.build import Report
from slakit.report.render_html import render as render_html
from slakit.report.render_json import render as render_json
from slakit.report.render_md import render as render_md
from slakit.report.support import support_sections
from slakit.spec import load_spec
from slakit.spec.calendar import Month
from slakit.support.tickets import TicketBook

REPO = Path(__file__).resolve().parents[2]
SPEC = load_spec(REPO / "rules" / "specs" / "erp-api.yaml")
MARCH = Month.parse("2026-03")
EVENTS = [
    # T-1 urgent, created Tue 3 March 10:00 New York (support hours), answered in 40 min: response met.
    {"id": "a1", "type": "created", "ticket": "T-1", "priority": "urgent", "at": "2026-03-03T10:00:00-05:00"},
    {"id": "a2", "type": "acknowledged", "ticket": "T-1", "at": "2026-03-03T10:40:00-05:00"},
    # resolved Thursday: within 3 working days of the acknowledgement.
    {"id": "a3", "type": "resolved", "ticket": "T-1", "at": "2026-03-05T09:00:00-05:00"},
    # T-2 high, answered after 90 minutes: response breached; never resolved, 5 working days run out on
    # Tue 10 March 11:30 EDT, so it is overdue at the end of March.
    {"id": "b1", "type": "created", "ticket": "T-2", "priority": "high", "at": "2026-03-03T11:00:00-05:00"},
    {"id": "b2", "type": "acknowledged", "ticket": "T-2", "at": "2026-03-03T12:30:00-05:00"},
    # T-3 normal, created in February and answered on Sunday 1 March in support hours: response decided (met)
    # in March; its working days start Monday, so resolution is overdue at the end of March too.
    {"id": "c1", "type": "created", "ticket": "T-3", "priority": "normal", "at": "2026-02-28T23:30:00-05:00"},
    {"id": "c2", "type": "acknowledged", "ticket": "T-3", "at": "2026-03-01T07:20:00-05:00"},
]


@pytest.fixture
def state_dir(tmp_path: Path):
    directory = tmp_path / "state" / "support" / "erp-api"
    book = TicketBook(directory, SPEC.support, "erp-api", SPEC.calendar.timezone)
    for event in EVENTS:
        assert book.apply(event)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    yield tmp_path / "state"  # the book stays open (locked), as in a running exporter
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before  # the report changed nothing
    book.close()


def test_counts_worst_and_overdue_for_the_month(state_dir: Path) -> None:
    [section] = support_sections([SPEC], state_dir, MARCH)
    tickets = section["tickets"]
    assert tickets["urgent"]["response"] == {"met": 1, "breached": 0, "share_met": 1.0}
    assert tickets["urgent"]["resolution"] == {"met": 1, "breached": 0, "share_met": 1.0}
    assert tickets["high"]["response"] == {"met": 0, "breached": 1, "share_met": 0.0}
    assert tickets["normal"]["response"]["met"] == 1  # created in February, decided in March
    assert tickets["high"]["resolution"] == {"met": 0, "breached": 0, "share_met": None}
    assert section["worst"]["response"][0]["ticket"] == "T-2"  # 90 of 60 minutes used
    assert section["worst"]["response"][0]["share_used"] == pytest.approx(1.5)
    overdue = [(r["ticket"], r["target"], r["due"]) for r in section["overdue_at_month_end"]]
    assert overdue == [
        ("T-2", "resolution", "2026-03-10T16:30:00+00:00"),  # 5 working days from Tue 12:30 EST
        ("T-3", "resolution", "2026-03-14T04:00:00+00:00"),  # 10 working days from Mon 2 March 00:00 EST
    ]
    february = support_sections([SPEC], state_dir, Month.parse("2026-02"))[0]["tickets"]
    assert all(c["met"] + c["breached"] == 0 for t in february.values() for c in t.values())


def test_rendered_in_every_format(state_dir: Path) -> None:
    report = Report(MARCH, 0, "http://127.0.0.1:9090", [], support=support_sections([SPEC], state_dir, MARCH))
    md = render_md(report)
    assert "## Support: erp-api" in md
    assert "| high | response | 0 | 1 | 0.0% |" in md
    assert "`T-2` resolution due" in md
    assert json.loads(render_json(report))["support"][0]["tickets"]["urgent"]["response"]["met"] == 1
    html = render_html(report)
    assert "<h2>Support: erp-api</h2>" in html and "<td>high</td><td>response</td><td>0</td><td>1</td>" in html


def test_missing_ticket_state_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no ticket state of erp-api"):
        support_sections([SPEC], tmp_path, MARCH)
