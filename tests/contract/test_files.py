"""Maintenance calendars (YAML, .ics) and the exclusions ledger: loading, history rules, `slakit check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slakit.contract.calendar import load_calendar
from slakit.contract.ledger import load_ledger
from slakit.errors import InputError
from tests.contract.conftest import EMPLOYEE_RECORDS, REPO, at

CALENDAR = """\
windows:
  - id: ok
    service: employee-records
    start: 2026-03-07T22:00:00-05:00
    end: 2026-03-08T01:00:00-05:00
    announced_at: 2026-03-04T10:00:00-05:00
  - id: lunch
    service: employee-records
    start: 2026-03-11T12:00:00-04:00
    end: 2026-03-11T12:30:00-04:00
    announced_at: 2026-03-01T10:00:00-05:00
  - id: late-notice
    service: employee-records
    start: 2026-03-14T22:00:00-04:00
    end: 2026-03-14T23:00:00-04:00
    announced_at: 2026-03-13T10:00:00-04:00
"""

ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//status//EN
X-SLAKIT-SERVICE:employee-records
BEGIN:VEVENT
UID:ics-1@example.com
DTSTAMP:20260304T150000Z
DTSTART;TZID=America/New_York:20260307T220000
DTEND;TZID=America/New_York:20260308T010000
SUMMARY:database upgrade
END:VEVENT
BEGIN:VEVENT
UID:ics-2@example.com
DTSTAMP:20260310T150000Z
X-SLAKIT-ANNOUNCED:20260301T120000Z
DTSTART:20260311T160000Z
DURATION:PT30M
SUMMARY:lunch-time patch
END:VEVENT
END:VCALENDAR
"""

LEDGER = """\
entries:
  - id: a
    service: employee-records
    slo: uptime
    start: 2026-03-12T14:00:00-04:00
    end: 2026-03-12T14:20:00-04:00
    clause: "002 exclusions 2"
    reason: licensee VPN down
    recorded_by: j.doe
    recorded_at: 2026-03-13T09:00:00-04:00
  - id: b
    service: employee-records
    start: 2026-03-20T01:00:00-04:00
    end: 2026-03-20T02:00:00-04:00
    clause: "002 exclusions 6"
    reason: regional flood
    recorded_by: j.doe
    recorded_at: 2026-03-21T09:00:00-04:00
  - id: a2
    service: employee-records
    slo: uptime
    start: 2026-03-12T14:00:00-04:00
    end: 2026-03-12T14:30:00-04:00
    clause: "002 exclusions 2"
    reason: "licensee VPN down (vendor report: 30 minutes)"
    recorded_by: k.roe
    recorded_at: 2026-03-25T09:00:00-04:00
    supersedes: a
  - id: b-withdrawn
    service: employee-records
    start: 2026-03-20T01:00:00-04:00
    end: 2026-03-20T02:00:00-04:00
    clause: "002 exclusions 6"
    reason: not force majeure after all
    recorded_by: k.roe
    recorded_at: 2026-03-26T09:00:00-04:00
    supersedes: b
    withdrawn: true
"""


def slakit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slakit", *args], capture_output=True, text=True, cwd=REPO)


def test_yaml_calendar_positions(tmp_path: Path):
    path = tmp_path / "cal.yaml"
    path.write_text(CALENDAR)
    windows = load_calendar(path)
    assert [(w.id, w.line, w.minutes) for w in windows] == [("ok", 2, 180), ("lunch", 7, 30), ("late-notice", 12, 60)]
    assert windows[0].start == at("2026-03-08T03:00Z")


def test_check_reports_each_violating_window_with_line_and_reason(tmp_path: Path):
    path = tmp_path / "cal.yaml"
    path.write_text(CALENDAR)
    proc = slakit("check", str(EMPLOYEE_RECORDS), "--maintenance", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"slakit check: error: {path}:7: window 'lunch' is not planned downtime: overlaps")
    assert "Wed 2026-03-11 09:00-17:00 America/New_York" in lines[0]
    assert lines[1].startswith(f"slakit check: error: {path}:12: window 'late-notice'")
    assert "announced 36h ahead; the policy needs 48h" in lines[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("windows:\n  - id: x\n    service: s\n    start: 2026-03-07T22:00:30Z\n    end: 2026-03-08T01:00:00Z\n",
         "cal.yaml:4: windows[0].start: 2026-03-07T22:00:30+00:00 is not on a whole minute"),
        ("windows:\n  - id: x\n    service: s\n    start: 2026-03-07T22:00:00\n    end: 2026-03-08T01:00:00Z\n",
         "cal.yaml:4: windows[0].start: Input should have timezone info"),
        ("windows:\n  - id: x\n    service: s\n    start: 2026-03-08T22:00:00Z\n    end: 2026-03-08T01:00:00Z\n",
         "cal.yaml:2: windows[0]: a window must end after it starts"),
    ],
)  # fmt: skip
def test_calendar_errors_name_file_line_field(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "cal.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_calendar(path)
    assert str(exc.value.problems[0]).replace(str(tmp_path) + "/", "") == expected


def test_ics_import(tmp_path: Path):
    path = tmp_path / "cal.ics"
    path.write_text(ICS)
    first, second = load_calendar(path)
    assert (first.id, first.service, first.start, first.end) == (
        "ics-1@example.com", "employee-records", at("2026-03-08T03:00Z"), at("2026-03-08T06:00Z"),
    )  # fmt: skip
    assert first.announced_at == at("2026-03-04T15:00Z") and first.line == 5
    assert (second.start, second.end, second.announced_at) == (
        at("2026-03-11T16:00Z"), at("2026-03-11T16:30Z"), at("2026-03-01T12:00Z"),
    )  # fmt: skip
    proc = slakit("check", str(EMPLOYEE_RECORDS), "--maintenance", str(path))
    assert proc.returncode == 2
    assert f"{path}:12: window 'ics-2@example.com' is not planned downtime: overlaps business hours" in proc.stderr


def test_ics_recurring_event_refused(tmp_path: Path):
    path = tmp_path / "cal.ics"
    path.write_text(ICS.replace("DURATION:PT30M", "DURATION:PT30M\nRRULE:FREQ=WEEKLY"))
    with pytest.raises(InputError, match="RRULE: recurring events are not supported"):
        load_calendar(path)


def test_ledger_history_and_effective_entries(tmp_path: Path, specs):
    path = tmp_path / "ledger.yaml"
    path.write_text(LEDGER)
    ledger = load_ledger(path, specs)
    assert [e.id for e in ledger.entries] == ["a", "b", "a2", "b-withdrawn"]
    assert [e.id for e in ledger.effective()] == ["a2"]
    assert ledger.effective()[0].end - ledger.effective()[0].start == 30 * 60
    proc = slakit("check", str(EMPLOYEE_RECORDS), "--exclusions", str(path))
    assert proc.returncode == 0 and f"{path}: ok" in proc.stdout, proc.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("id: a2", "id: a"), "entries[2].id: id 'a' is already used at line 2"),
        (lambda t: t.replace("2026-03-25T09:00", "2026-03-20T09:00"), "entries[2].recorded_at: recorded before"),
        (lambda t: t.replace("supersedes: a\n", "supersedes: zz\n"), "entries[2].supersedes: no earlier entry 'zz'"),
        (lambda t: t.replace("supersedes: b\n", "supersedes: a\n"),
         "entries[3].supersedes: entry 'a' is already superseded by 'a2'"),
        (lambda t: t.replace("slo: uptime", "slo: upptime", 1),
         "entries[0].slo: service 'employee-records' has no SLO 'upptime'"),
    ],
)  # fmt: skip
def test_ledger_errors(tmp_path: Path, specs, edit, message):
    path = tmp_path / "ledger.yaml"
    path.write_text(edit(LEDGER))
    with pytest.raises(InputError) as exc:
        load_ledger(path, specs)
    assert any(message in str(p) for p in exc.value.problems), exc.value.problems


def test_example_files_check_clean():
    proc = slakit(
        "check", str(EMPLOYEE_RECORDS),
        "--maintenance", "rules/maintenance/employee-records.yaml",
        "--exclusions", "rules/exclusions/employee-records.yaml",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
