"""Minute accounting with injected time: exact outcomes per minute."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slakit.exporter.minutes import MinuteAccounting, minute_start

T0 = 1_795_449_000  # 2026-11-23T12:30:00Z, a minute boundary
assert T0 % 60 == 0


def run(acc: MinuteAccounting, results: list[tuple[float, bool]]) -> list[tuple[int, str]]:
    """Feed (completion time, success) in time order, closing minutes as a timer would."""
    outcomes = []
    for t, ok in results:
        outcomes += acc.close(t)
        acc.record(t, ok)
    return outcomes


def every(start: float, end: float, step: float, ok: bool) -> list[tuple[float, bool]]:
    out, t = [], start
    while t < end:
        out.append((t, ok))
        t += step
    return out


def test_starts_at_zero_stamped_at_the_start_of_the_current_minute() -> None:
    acc = MinuteAccounting(T0 + 42.5)
    assert (acc.up, acc.down, acc.stamp_ms) == (0, 0, T0 * 1000)


def test_outage_aligned_to_minutes() -> None:
    acc = MinuteAccounting(T0)
    results = (
        every(T0 + 1, T0 + 60, 15, True) + every(T0 + 61, T0 + 180, 15, False) + every(T0 + 181, T0 + 240, 15, True)
    )
    outcomes = run(acc, results) + acc.close(T0 + 240)
    assert outcomes == [(T0, "up"), (T0 + 60, "down"), (T0 + 120, "down"), (T0 + 180, "up")]
    assert (acc.up, acc.down, acc.stamp_ms) == (2, 2, (T0 + 240) * 1000)


def test_outage_not_aligned_to_minutes_counts_only_minutes_without_success() -> None:
    # down from 0:40 to 2:20: minute 0 and minute 2 still had successes, minute 1 had none
    acc = MinuteAccounting(T0)
    results = (
        every(T0 + 5, T0 + 40, 10, True) + every(T0 + 45, T0 + 140, 10, False) + every(T0 + 145, T0 + 180, 10, True)
    )
    outcomes = run(acc, results) + acc.close(T0 + 180)
    assert outcomes == [(T0, "up"), (T0 + 60, "down"), (T0 + 120, "up")]


def test_outage_not_aligned_with_any_failed_rule_counts_every_touched_minute() -> None:
    acc = MinuteAccounting(T0, "any_failed")
    results = (
        every(T0 + 5, T0 + 40, 10, True) + every(T0 + 45, T0 + 140, 10, False) + every(T0 + 145, T0 + 240, 10, True)
    )
    outcomes = run(acc, results) + acc.close(T0 + 240)
    assert outcomes == [(T0, "down"), (T0 + 60, "down"), (T0 + 120, "down"), (T0 + 180, "up")]


def test_flapping_inside_a_minute() -> None:
    flapping = [(T0 + s, s % 2 == 0) for s in range(2, 60, 3)]  # alternating within one minute
    assert any(ok for _, ok in flapping) and not all(ok for _, ok in flapping)
    for rule, ratio, expected in [
        ("all_failed", None, "up"),
        ("any_failed", None, "down"),
        ("failure_ratio", 0.5, "down"),  # 10 of 20 failed: ratio 0.5 >= 0.5
        ("failure_ratio", 0.6, "up"),
    ]:
        acc = MinuteAccounting(T0, rule, ratio)  # type: ignore[arg-type]
        assert run(acc, flapping) + acc.close(T0 + 60) == [(T0, expected)], rule


def test_paused_prober_counts_no_minutes() -> None:
    acc = MinuteAccounting(T0)
    results = every(T0 + 1, T0 + 60, 15, True) + every(T0 + 301, T0 + 360, 15, False)  # nothing for 4 minutes
    outcomes = run(acc, results)
    # the first result after the pause closes five minutes at once, only one of them had probes
    assert outcomes == [(T0, "up")]
    assert acc.stamp_ms == (T0 + 300) * 1000
    assert acc.close(T0 + 360) == [(T0 + 300, "down")]
    assert (acc.up, acc.down) == (1, 1)


def test_minute_without_any_completion_is_not_counted_but_the_stamp_advances() -> None:
    acc = MinuteAccounting(T0)
    assert acc.close(T0 + 60) == []
    assert acc.close(T0 + 125) == []
    assert (acc.up, acc.down, acc.stamp_ms) == (0, 0, (T0 + 120) * 1000)


def test_completion_at_the_boundary_belongs_to_the_next_minute() -> None:
    acc = MinuteAccounting(T0)
    acc.record(T0 + 59.999, False)
    acc.record(T0 + 60.0, True)
    assert acc.close(T0 + 120) == [(T0, "down"), (T0 + 60, "up")]


def test_late_result_for_a_closed_minute_goes_to_the_first_open_minute() -> None:
    acc = MinuteAccounting(T0)
    acc.record(T0 + 10, True)
    assert acc.close(T0 + 60.001) == [(T0, "up")]
    acc.record(T0 + 59.9, False)  # completion time from before the close, processed after it
    assert (acc.up, acc.down) == (1, 0)  # the closed minute is never changed
    assert acc.close(T0 + 120) == [(T0 + 60, "down")]


def test_closing_is_idempotent_within_a_minute() -> None:
    acc = MinuteAccounting(T0)
    acc.record(T0 + 1, True)
    assert acc.close(T0 + 30) == []
    assert acc.close(T0 + 60) == [(T0, "up")]
    assert acc.close(T0 + 61) == []
    assert acc.close(T0 + 30) == []  # the clock stepping back never re-closes
    assert (acc.up, acc.down, acc.stamp_ms) == (1, 0, (T0 + 60) * 1000)


def test_rule_change_applies_to_minutes_closed_afterwards() -> None:
    acc = MinuteAccounting(T0)
    acc.record(T0 + 1, True)
    acc.record(T0 + 2, False)
    acc.set_rule("any_failed")
    assert acc.close(T0 + 60) == [(T0, "down")]


def test_failure_ratio_needs_a_ratio() -> None:
    with pytest.raises(ValueError, match="failure_ratio"):
        MinuteAccounting(T0, "failure_ratio")


@given(st.lists(st.tuples(st.floats(0, 600), st.booleans()), max_size=60))
def test_counters_never_go_backwards_and_count_each_busy_minute_once(
    events: list[tuple[float, bool]],
) -> None:
    acc = MinuteAccounting(T0)
    events = sorted(events)
    last = (0, 0, 0)
    for t, ok in events:
        acc.close(T0 + t)
        acc.record(T0 + t, ok)
        now = (acc.up, acc.down, acc.stamp_ms)
        assert all(a <= b for a, b in zip(last, now, strict=True))
        last = now
    acc.close(T0 + 1000)
    busy = {minute_start(T0 + t) for t, _ in events}
    assert acc.up + acc.down == len(busy)
    failed_only = {m for m in busy if not any(ok for t, ok in events if minute_start(T0 + t) == m)}
    assert acc.down == len(failed_only)
