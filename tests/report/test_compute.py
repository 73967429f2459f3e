"""Contract edge cases of the report's arithmetic (pure computation, exact fractions)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slakit.contract.store import MonthStore
from slakit.report.build import _rolling
from slakit.report.compute import compute, credits_for, rolling_months
from slakit.report.fetch import SloMinutes
from slakit.spec import load_specs
from slakit.spec.calendar import Month, Period, month_period, zone

REPO = Path(__file__).resolve().parents[2]
SPECS = {
    s.service: s for s in load_specs([REPO / "rules/specs/employee-records.yaml", REPO / "rules/specs/erp-api.yaml"])
}
NY = zone("America/New_York")


def measured(service: str, month: str, bad: int, unknown: int = 0) -> SloMinutes:
    p = month_period(Month.parse(month), NY)
    minutes = list(range(p.start, p.end, 60))
    return SloMinutes(
        service, "uptime", "uptime", p, bad_events=bad, total_events=p.minutes - unknown, evaluated=p.minutes,
        bad=dict.fromkeys(minutes[:bad], 1), unknown=set(minutes[bad : bad + unknown]),
    )  # fmt: skip


def report(service: str, month: str, bad: int, unknown: int = 0):
    spec = SPECS[service]
    return compute(spec, spec.slos[0], Month.parse(month), measured(service, month, bad, unknown), [], [], True)


def test_uptime_exactly_99_percent_breaches_more_than_99():
    # April 2026 in New York: 43 200 minutes; 432 unavailable is exactly 99.00 %.
    r = report("erp-api", "2026-04", 432)
    assert r.minutes == 43_200 and r.uptime == Fraction(99, 100)
    assert not r.meets_objective
    assert report("erp-api", "2026-04", 431).meets_objective


def test_exactly_98_5_percent_earns_no_credit():
    # 1.5 % of 43 200 = 648 minutes: 98.5 % exactly meets ">= 98.5%" and is not "< 98.5%".
    r = report("employee-records", "2026-04", 648)
    assert r.uptime == Fraction(985, 1000) and r.meets_objective and r.credits == 0
    worse = report("employee-records", "2026-04", 649)
    assert not worse.meets_objective and worse.credits == 5
    # 5 % of 43 200 = 2160: exactly 95 % is the 5-credit tier; one more minute is 10.
    assert report("employee-records", "2026-04", 2160).credits == 5
    assert report("employee-records", "2026-04", 2161).credits == 10


def test_unknown_minutes_are_the_worst_case():
    r = report("employee-records", "2026-04", 600, unknown=100)
    assert (r.unavailable, r.unknown, r.credits, r.credits_worst) == (600, 100, 0, 5)
    assert r.meets_objective and not r.meets_objective_worst


@pytest.mark.parametrize(
    ("month", "months"),
    [
        ("2026-03", ["2026-03", "2026-02", "2026-01"]),  # Jan 1 is exactly 90 days before Apr 1: Dec's end is out
        ("2026-04", ["2026-04", "2026-03", "2026-02", "2026-01"]),  # Feb+Mar+Apr = 89 days: Jan's end is inside
        ("2026-08", ["2026-08", "2026-07", "2026-06"]),  # Jun+Jul+Aug = 92 days: May's end is outside
    ],
)
def test_which_months_count_in_90_days(month: str, months: list[str]):
    assert [str(m) for m in rolling_months(Month.parse(month), 90 * 1440, "America/New_York")] == months


@pytest.mark.parametrize(("earlier", "termination"), [((5, 0), False), ((5, 1), True)])
def test_15_credits_is_no_termination_right_16_is(tmp_path: Path, earlier, termination):
    # A spec whose tiers make 16 reachable: 10 credits below 95 %, and a 1-credit tier below 99.9 %.
    import yaml

    doc = yaml.safe_load((REPO / "rules/specs/employee-records.yaml").read_text())
    doc["slos"][0]["credits"]["tiers"].append({"when": "< 99.9%", "credits": 1})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc))
    (spec,) = load_specs([path])
    store = MonthStore(tmp_path / "store")
    for month, credits in zip(("2026-02", "2026-01"), earlier, strict=True):
        store.close({"service": spec.service, "slo": "uptime", "month": month, "credits": credits}, "t")
    r = compute(spec, spec.slos[0], Month(2026, 3), measured(spec.service, "2026-03", 2300), [], [], True)
    assert r.credits == 10
    _rolling(r, store)
    assert r.rolling_credits == 15 + earlier[1]
    assert r.termination_right is termination


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 44_640), st.sampled_from(["2026-01", "2026-02", "2026-03", "2026-11"]))
def test_credits_match_the_tier_definitions(bad: int, month: str):
    r = report("employee-records", month, min(bad, month_period(Month.parse(month), NY).minutes))
    pct = Fraction(r.minutes - r.unavailable, r.minutes) * 100
    expected = 10 if pct < 95 else 5 if pct < Fraction(985, 10) else 0
    assert r.credits == expected == credits_for(r.uptime, r.slo.credits)


def test_store_keeps_versions(tmp_path: Path):
    store = MonthStore(tmp_path)
    record = {"service": "s", "slo": "u", "month": "2026-01", "credits": 5}
    assert store.close(record, "a")[1:] == (1, True)
    assert store.close(record, "b")[1:] == (1, False)
    assert store.close({**record, "credits": 10}, "c")[1:] == (2, True)
    assert store.read("s", "u", "2026-01")["credits"] == 10
    assert store.read("s", "u", "2026-01", version=1)["credits"] == 5


def test_period_days_follow_dst():
    r = report("employee-records", "2026-03", 0)
    assert len(r.days) == 31 and r.days[7].minutes == 23 * 60 and sum(d.minutes for d in r.days) == 44_580
    assert isinstance(r.period, Period)
