"""The ticket book on hand-computed streams: outcomes, gauges, restarts, duplicates, forgetting, bad events."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from slakit.spec.support import SupportPolicy
from slakit.support.tickets import TicketBook

ET = ZoneInfo("America/New_York")
POLICY = SupportPolicy.model_validate(
    yaml.safe_load((Path(__file__).parent / "erp-api-support.yaml").read_text())["support"]
)


def at(text: str) -> str:
    """'2026-03-03 10:00' in US Eastern → RFC 3339 with the offset in force."""
    return datetime.fromisoformat(text).replace(tzinfo=ET).isoformat()


def ev(n: int, kind: str, ticket: str, when: str, priority: str | None = None) -> dict:
    event = {"id": f"e{n}", "type": kind, "ticket": ticket, "at": at(when)}
    if priority:
        event["priority"] = priority
    return event


# Deadlines worked out by hand (US Eastern; response 1 h of 07:00–24:00; resolution in Mon–Fri working days).
STREAM = [
    # T1 urgent: response due 10:00+1h; resolution Tue 10:45 → Fri 03-06 10:45.
    ev(1, "created", "T1", "2026-03-03 10:00", "urgent"),
    ev(2, "acknowledged", "T1", "2026-03-03 10:45"),  # response met
    # T2 high, Saturday 06:30: counting starts 07:00, response due 08:00.
    ev(3, "created", "T2", "2026-03-07 06:30", "high"),
    ev(4, "first_response", "T2", "2026-03-07 08:01"),  # response breached
    # T5 normal: resolution from 09:10 Mon 03-02, 10 working days → Mon 03-16 09:10.
    ev(5, "created", "T5", "2026-03-02 09:00", "normal"),
    ev(6, "acknowledged", "T5", "2026-03-02 09:10"),  # normal response met
    # T6 high → urgent on Tue: 3 days from the start (Thu 03-05 09:10) is still ahead: due then.
    ev(7, "created", "T6", "2026-03-02 09:00", "high"),
    ev(8, "acknowledged", "T6", "2026-03-02 09:10"),  # high response met
    ev(9, "priority_changed", "T6", "2026-03-03 09:00", "urgent"),
    # T7 urgent, never acknowledged: the resolution is the first response.
    ev(10, "created", "T7", "2026-03-02 09:00", "urgent"),
    ev(11, "acknowledged", "T1", "2026-03-03 11:30"),  # a second acknowledgement changes nothing
    ev(12, "resolved", "T7", "2026-03-02 10:30"),  # response breached (due 10:00), resolution met
    ev(13, "resolved", "T1", "2026-03-06 10:44"),  # urgent resolution met
    ev(14, "resolved", "T6", "2026-03-05 09:11"),  # urgent resolution breached (due 09:10)
    # T5 normal → urgent on Fri 03-06 12:00: 3 days from the start ran out Thu 03-05 09:10, so 3 days from the
    # change: Wed 03-11 12:00 EDT (across the DST weekend), earlier than the old Mon 03-16 09:10.
    ev(15, "priority_changed", "T5", "2026-03-06 12:00", "urgent"),
    ev(16, "resolved", "T5", "2026-03-11 12:00"),  # urgent resolution met, at the deadline exactly
    # T2: resolution counts from Sat 08:01 → Mon 03-09 00:00; 5 days → end of Fri 03-13.
    ev(17, "resolved", "T2", "2026-03-13 23:59"),  # high resolution met
    # T4 urgent: resolution from Thu 07-02 12:30; Fri 07-03 is Independence Day (observed) → Wed 07-08 12:30.
    ev(18, "created", "T4", "2026-07-02 12:00", "urgent"),
    ev(19, "acknowledged", "T4", "2026-07-02 12:30"),  # response met
    ev(20, "resolved", "T4", "2026-07-07 09:00"),  # met; 11.5 + 24 + 9 = 44.5 working hours used
    # Reopened Thu 07-09 10:00: 72 - 44.5 = 27.5 h left → Thu 14 h + Fri 13.5 h → due Fri 07-10 13:30.
    ev(21, "reopened", "T4", "2026-07-09 10:00"),
    ev(22, "resolved", "T4", "2026-07-10 14:00"),  # late, but the outcome was decided (met) and stands
    # T3 normal, Tue 23:58: response due Wed 07:58 (2 min that night, 58 the next morning).
    ev(23, "created", "T3", "2026-11-24 23:58", "normal"),
    ev(24, "acknowledged", "T3", "2026-11-25 07:58"),  # met, at the deadline exactly
    ev(25, "resolved", "T3", "2026-12-10 07:59"),  # due Thu 12-10 07:58 (Thanksgiving skipped): breached
]

EXPECTED = {
    ("urgent", "response", "met"): 2,  # T1, T4
    ("urgent", "response", "breached"): 1,  # T7
    ("urgent", "resolution", "met"): 4,  # T1, T4, T5, T7
    ("urgent", "resolution", "breached"): 1,  # T6
    ("high", "response", "met"): 1,  # T6 (high when acknowledged)
    ("high", "response", "breached"): 1,  # T2
    ("high", "resolution", "met"): 1,  # T2
    ("high", "resolution", "breached"): 0,
    ("normal", "response", "met"): 2,  # T5, T3
    ("normal", "response", "breached"): 0,
    ("normal", "resolution", "met"): 0,
    ("normal", "resolution", "breached"): 1,  # T3
}


def sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in {"service": "erp-api", **labels}.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{{{want}}}")


@pytest.fixture
def book(tmp_path):
    book = TicketBook(tmp_path / "state", POLICY, "erp-api")
    yield book
    book.close()


def test_stream_outcomes_match_hand_computed_ones(book):
    assert all(book.apply(e) for e in STREAM)
    assert not book.apply(STREAM[1])  # the same event again
    assert book.counts == EXPECTED
    assert book.reopens == {"urgent": 1, "high": 0, "normal": 0}
    text = book.render()
    for (priority, target, outcome), n in EXPECTED.items():
        labels = {"priority": priority, "target": target, "outcome": outcome}
        assert sample(text, "slakit_support_tickets_total", **labels) == n
    assert sample(text, "slakit_support_ticket_reopens_total", priority="urgent") == 1
    assert book.tickets["T4"].resolution.due == datetime(2026, 7, 10, 13, 30, tzinfo=ET)
    assert book.tickets["T5"].resolution.due == datetime(2026, 3, 11, 12, 0, tzinfo=ET)


def test_gauges_move_with_time(book):
    for e in STREAM[:2]:  # T1 acknowledged Tue 10:45; resolution due Fri 03-06 10:45, at risk with < 18 h left
        book.apply(e)
    book.apply(ev(100, "created", "R", "2026-03-03 10:00", "normal"))  # response due 11:00, at risk after 10:45

    def gauges(when: str) -> tuple:
        book.tick(datetime.fromisoformat(at(when)))
        text = book.render()
        return tuple(
            sample(text, name, priority=p, target=t)
            for name in ("slakit_support_tickets_at_risk", "slakit_support_tickets_overdue")
            for p, t in (("normal", "response"), ("urgent", "resolution"))
        )

    assert gauges("2026-03-03 10:45") == (0, 0, 0, 0)
    assert gauges("2026-03-03 10:46") == (1, 0, 0, 0)
    assert gauges("2026-03-03 11:00") == (1, 0, 0, 0)  # at the deadline: not yet overdue
    assert gauges("2026-03-03 11:01") == (0, 0, 1, 0)
    assert gauges("2026-03-05 16:45") == (0, 0, 1, 0)
    assert gauges("2026-03-05 16:46") == (0, 1, 1, 0)
    assert gauges("2026-03-06 10:46") == (0, 0, 1, 1)
    text = book.render(openmetrics=True)
    assert sample(text, "slakit_support_open_tickets", priority="urgent") == 1
    assert sample(text, "slakit_support_next_deadline_timestamp_seconds", priority="urgent", target="resolution") == (
        datetime(2026, 3, 6, 10, 45, tzinfo=ET).timestamp()
    )
    assert "# TYPE slakit_support_tickets counter" in text
    assert "ticket=" not in text and "T1" not in text
    book.apply(ev(101, "acknowledged", "R", "2026-03-06 10:47"))  # overdue → counted breached
    assert book.counts[("normal", "response", "breached")] == 1


@pytest.mark.parametrize("cut", [1, 5, 9, 14, 20, 21, 24])
def test_restart_mid_stream_continues_identically(tmp_path, cut):
    whole = TicketBook(tmp_path / "a", POLICY, "erp-api")
    for e in STREAM:
        whole.apply(e)
    first = TicketBook(tmp_path / "b", POLICY, "erp-api")
    for e in STREAM[:cut]:
        first.apply(e)
    first.close()  # a crash: nothing is written at close, every event was fsync'd when applied
    restarted = TicketBook(tmp_path / "b", POLICY, "erp-api")
    for e in STREAM:  # the source replays the whole stream after the restart: nothing counts twice
        restarted.apply(e)
    now = datetime(2026, 12, 31, tzinfo=ET)
    whole.tick(now)
    restarted.tick(now)
    assert restarted.counts == EXPECTED
    assert restarted.render() == whole.render()
    assert restarted.snapshot() | {"seq": 0} == whole.snapshot() | {"seq": 0}
    whole.close()
    restarted.close()


def test_a_write_cut_short_by_a_crash_is_dropped(tmp_path):
    book = TicketBook(tmp_path, POLICY, "erp-api")
    for e in STREAM[:3]:
        book.apply(e)
    book.close()
    with open(tmp_path / "journal.jsonl", "ab") as f:
        f.write(json.dumps({"seq": 4, **STREAM[3]}).encode()[:-5])  # no newline: the write never finished
    book = TicketBook(tmp_path, POLICY, "erp-api")
    assert book.tickets["T2"].responded is None
    assert book.apply(STREAM[3])  # delivered again by the source, counted now
    book.close()
    book = TicketBook(tmp_path, POLICY, "erp-api")
    assert book.counts[("high", "response", "breached")] == 1
    assert (tmp_path / "journal.jsonl").read_bytes().count(b"\n") == 4
    book.close()


def test_corrupt_journal_line_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "journal.jsonl").write_text('{"seq": 1, "id": "x"}\nnot json\n{"seq": 3}\n')
    with pytest.raises(ValueError, match=r"journal.jsonl:2: corrupt journal record"):
        TicketBook(tmp_path, POLICY, "erp-api")


def test_one_book_per_directory(book, tmp_path):
    with pytest.raises(ValueError, match="in use by another ticket book"):
        TicketBook(tmp_path / "state", POLICY, "erp-api")


def test_forgetting_reported_months_keeps_counts_and_bounds_state(tmp_path):
    book = TicketBook(tmp_path, POLICY, "erp-api")
    for e in STREAM:
        book.apply(e)
    assert book.forget_reported("2026-03") == 5  # T1, T2, T5, T6, T7 were resolved in March
    assert sorted(book.tickets) == ["T3", "T4"]
    assert (tmp_path / "journal.jsonl").read_bytes() == b""
    assert not any(book.apply(e) for e in STREAM)  # a replay changes nothing: March is closed, the rest is known
    assert book.counts == EXPECTED
    book.close()
    book = TicketBook(tmp_path, POLICY, "erp-api")
    assert sorted(book.tickets) == ["T3", "T4"] and book.counts == EXPECTED
    assert not book.apply(ev(200, "created", "late", "2026-03-31 23:00", "high"))  # a reported month
    assert book.apply(ev(201, "created", "new", "2026-04-01 00:00", "high"))  # April is not reported
    assert book.forget_reported("2026-07") == 1  # T4; T3 (resolved in December) and "new" (open) stay
    assert sorted(book.tickets) == ["T3", "new"]
    book.close()


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([1, 2], "event must be a JSON object"),
        ({"type": "created", "ticket": "X", "priority": "high", "at": 0}, "id: required"),
        ({"id": "z", "type": "closed", "ticket": "T1", "at": 0}, "type: unknown event type 'closed'"),
        ({"id": "z", "type": "created", "ticket": "X", "priority": "p1", "at": 0}, "priority: unknown priority 'p1'"),
        ({"id": "z", "type": "created", "ticket": "X", "priority": "high"}, "at: required"),
        (
            {"id": "z", "type": "created", "ticket": "X", "priority": "high", "at": "2026-03-03T10:00"},
            "at: timestamp '2026-03-03T10:00' has no UTC offset",
        ),
        ({"id": "z", "type": "created", "ticket": "X", "priority": "high", "at": "yesterday"}, "at: invalid timestamp"),
        (
            {"id": "z", "type": "created", "ticket": "X", "priority": "high", "at": "9999-12-31T23:59:59Z"},
            "at: timestamp",
        ),
        ({"id": "z", "type": "created", "ticket": "X", "priority": "high", "at": 1e300}, "at: invalid timestamp"),
        ({"id": "z" * 129, "type": "created", "ticket": "X", "priority": "high", "at": 0}, "id: at most 128"),
        (
            {"id": "z", "type": "resolved", "ticket": "nope", "at": 0},
            "ticket: unknown ticket 'nope' (resolved before created)",
        ),
        (
            {"id": "z", "type": "created", "ticket": "T1", "priority": "high", "at": 0},
            "ticket: ticket 'T1' was already created",
        ),
        (
            {"id": "z", "type": "reopened", "ticket": "T1", "at": at("2026-03-04 10:00")},
            "ticket: ticket 'T1' is not resolved",
        ),
    ],
)
def test_bad_events_are_refused_with_the_field(book, event, message):
    book.apply(STREAM[0])
    before = (book.tickets["T1"].to_json(), dict(book.counts))
    lines = (book.journal.journal_path).read_bytes().count(b"\n")
    with pytest.raises(ValueError) as info:
        book.apply(event)
    assert str(info.value).startswith(message)
    assert (book.tickets["T1"].to_json(), dict(book.counts)) == before
    assert book.journal.journal_path.read_bytes().count(b"\n") == lines


def test_exposition_parses_in_both_formats(book):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
    from prometheus_client.parser import text_string_to_metric_families as parse_text

    from tests.rules.promtool import promtool

    for e in STREAM[:12]:
        book.apply(e)
    book.tick(datetime(2026, 3, 3, 10, 50, tzinfo=ET))
    text, om = book.render(), book.render(openmetrics=True)
    families = {f.name: f for f in parse_openmetrics(om + "# EOF\n")}
    assert families["slakit_support_tickets"].type == "counter"
    assert families["slakit_support_tickets_at_risk"].type == "gauge"
    assert sum(s.value for s in families["slakit_support_open_tickets"].samples) == 4  # T1, T2, T5, T6 open
    assert {f.name for f in parse_text(text)} >= {"slakit_support_tickets", "slakit_support_ticket_reopens"}
    proc = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
