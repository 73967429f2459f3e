"""The Employee Records planned-downtime policy, rule by rule (table tests) and for the instance limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slakit.contract.calendar import Window
from slakit.contract.policy import check_windows
from tests.contract.conftest import at

HOUR = 3600


def window(start: str, end: str, announced: str | None = None, wid: str = "w", service="employee-records") -> Window:
    s = at(start)
    ann = at(announced) if announced else s - 72 * HOUR
    return Window(wid, service, s, at(end), ann, "", "cal.yaml", 3)


CASES = [
    # id, start, end, announced (None: 72 h ahead), accepted, reason fragment
    ("saturday", "2026-03-07T10:00-05:00", "2026-03-07T14:00-05:00", None, True, ""),
    ("weeknight", "2026-03-10T18:00-04:00", "2026-03-10T23:00-04:00", None, True, ""),
    ("ends at 09:00 exactly", "2026-03-10T05:00-04:00", "2026-03-10T09:00-04:00", None, True, ""),
    ("starts at 17:00 exactly", "2026-03-10T17:00-04:00", "2026-03-10T20:00-04:00", None, True, ""),
    ("one minute into 09:00", "2026-03-10T05:00-04:00", "2026-03-10T09:01-04:00", None, False, "business hours"),
    ("one minute before 17:00", "2026-03-10T16:59-04:00", "2026-03-10T18:00-04:00", None, False, "Tue 2026-03-10"),
    ("weekday lunch", "2026-03-11T12:00-04:00", "2026-03-11T12:30-04:00", None, False, "Wed 2026-03-11 09:00-17:00"),
    ("Memorial Day (holiday weekday)", "2026-05-25T10:00-04:00", "2026-05-25T12:00-04:00", None, True, ""),
    ("Independence Day observed (Fri)", "2026-07-03T10:00-04:00", "2026-07-03T12:00-04:00", None, True, ""),
    ("day after Memorial Day", "2026-05-26T10:00-04:00", "2026-05-26T12:00-04:00", None, False, "Tue 2026-05-26"),
    ("weekend spanning into Monday 09:30", "2026-03-07T00:00-05:00", "2026-03-09T09:30-04:00", None, False, "Mon"),
    # DST: Sunday 2026-03-08 02:00 EST jumps to 03:00 EDT; Monday 09:00 EDT is 13:00Z, not 14:00Z.
    ("Monday after DST, 08:00-09:00 EDT", "2026-03-09T12:00Z", "2026-03-09T13:00Z", None, True, ""),
    ("Monday after DST, 13:00Z-13:01Z is 09:00 EDT", "2026-03-09T12:00Z", "2026-03-09T13:01Z", None, False, "Mon"),
    ("across the DST jump at night", "2026-03-08T01:00-05:00", "2026-03-08T04:00-04:00", None, True, ""),
    ("November fall-back, 17:00 EST", "2026-11-02T17:00-05:00", "2026-11-02T23:00-05:00", None, True, ""),
    ("notice exactly 48 h", "2026-03-07T10:00-05:00", "2026-03-07T12:00-05:00", "2026-03-05T10:00-05:00", True, ""),
    ("notice 47 h 59 m", "2026-03-07T10:00-05:00", "2026-03-07T12:00-05:00", "2026-03-05T10:01-05:00", False, "47h59m"),
    ("announced after start", "2026-03-07T10:00-05:00", "2026-03-07T12:00-05:00", "2026-03-07T11:00-05:00", False,
     "1h after it started"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "start", "end", "announced", "ok", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_policy_rules(specs, name, start, end, announced, ok, fragment):
    (verdict,) = check_windows([window(start, end, announced)], specs)
    assert verdict.accepted is ok, verdict.reasons
    if fragment:
        assert any(fragment in r for r in verdict.reasons), verdict.reasons


def test_sixth_window_in_30_days_is_rejected_the_later_one(specs):
    saturdays = ["2026-03-07", "2026-03-14", "2026-03-21", "2026-03-28", "2026-04-04", "2026-04-11"]
    windows = [window(f"{d}T20:00-04:00", f"{d}T22:00-04:00", wid=f"w{i}") for i, d in enumerate(saturdays)]
    # Listed out of order: the limit follows start times, not file order.
    verdicts = check_windows(list(reversed(windows)), specs)
    by_id = {v.window.id: v for v in verdicts}
    # Mar 7 .. Apr 4 are five starts within 28 days; Apr 4 is within 30 d of Mar 7 (28 d): accepted (5th).
    assert [by_id[f"w{i}"].accepted for i in range(5)] == [True] * 5
    # Apr 11 is 35 d after Mar 7 but only 28 d after Mar 14: Mar 14..Apr 4 are 4 starts, so it is the 5th.
    assert by_id["w5"].accepted


def test_sixth_window_rejected_and_rejected_ones_do_not_count(specs):
    days = ["2026-03-07", "2026-03-08", "2026-03-14", "2026-03-15", "2026-03-21", "2026-03-22", "2026-04-05"]
    windows = [window(f"{d}T20:00-04:00", f"{d}T22:00-04:00", wid=f"w{i}") for i, d in enumerate(days)]
    verdicts = {v.window.id: v for v in check_windows(windows, specs)}
    assert [verdicts[f"w{i}"].accepted for i in range(5)] == [True] * 5
    assert not verdicts["w5"].accepted and "instance 6" in verdicts["w5"].reasons[0]
    # Apr 5 is 29 d after Mar 7: Mar 7..Mar 21 (5 accepted) are all within 30 d before it, so it is rejected
    # too; Mar 22 was rejected and does not count either way.
    assert not verdicts["w6"].accepted


def test_exactly_30_days_apart_is_a_new_period(specs):
    starts = ["2026-03-07T23:00Z", "2026-03-08T23:00Z", "2026-03-14T23:00Z", "2026-03-15T23:00Z", "2026-03-21T23:00Z"]
    windows = [window(s, s.replace("23:00", "23:30"), wid=f"w{i}") for i, s in enumerate(starts)]
    windows.append(window("2026-04-06T23:00Z", "2026-04-06T23:30Z", wid="exact"))  # 30 × 24 h after Mar 7
    windows.append(window("2026-04-06T22:59Z", "2026-04-06T23:00Z", wid="early"))  # one minute less
    verdicts = {v.window.id: v for v in check_windows(windows, specs)}
    assert verdicts["early"].reasons and "instance 6" in verdicts["early"].reasons[0]
    assert verdicts["exact"].accepted  # Mar 7 23:00Z is exactly 30 d before: outside; early was rejected


def test_unknown_service_and_service_without_policy(specs):
    (verdict,) = check_windows([window("2026-03-07T10:00Z", "2026-03-07T11:00Z", service="payroll")], specs)
    assert "not a service of the given specs" in verdict.reasons[0]


@given(
    st.lists(st.integers(min_value=0, max_value=120 * 24), min_size=1, max_size=25),
)
def test_no_rolling_30_days_holds_more_than_5_accepted_starts(specs, hours):
    base = at("2026-01-03T00:00Z")  # windows at night, 1 h long, at whole hours: overlap checks vary
    windows = [window_at(base + h * HOUR, f"w{i}") for i, h in enumerate(hours)]
    verdicts = check_windows(windows, specs)
    starts = sorted(v.window.start for v in verdicts if v.accepted)
    for s in starts:
        assert sum(1 for t in starts if s - 30 * 86400 < t <= s) <= 5
    # and every window rejected only for the limit had 5 accepted starts in the 30 d before it
    for v in verdicts:
        if v.reasons and all("instance" in r for r in v.reasons):
            assert sum(1 for t in starts if v.window.start - 30 * 86400 < t <= v.window.start) == 5


def window_at(start: int, wid: str) -> Window:
    return Window(wid, "employee-records", start, start + HOUR, start - 72 * HOUR, "", "cal.yaml", 1)
