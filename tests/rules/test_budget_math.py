"""Budget arithmetic: exact integers from `allowed_bad` / `credit_threshold`, and the float PromQL forms of them.

`allowed_bad` and `credit_threshold` are compared with brute force over every bad count in Fractions; the
PromQL the generator emits (`ceil(N*p/q)-1`, `floor(N*p/q)`, `floor(N*a/b)+1`, `ceil(N*a/b)`) is evaluated in
Python floats (IEEE doubles, like Prometheus) and, for a sample, by promtool itself.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from pathlib import Path

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slakit.rules import generator as gen
from slakit.rules.generator import allowed_bad, credit_threshold
from slakit.spec.model import Objective, Spec
from slakit.spec.ratios import Comparison, parse_percent
from tests.rules.promtool import run_cases

# Percentages with up to four decimals: k / 10^4 percent = k / 10^6.
percent4 = st.integers(0, 1_000_000).map(lambda k: Fraction(k, 1_000_000))
budgets = st.integers(1, 1_000_000).map(lambda k: Fraction(k, 1_000_000))


def brute_allowed(n: int, budget: Fraction, strict: bool) -> int:
    """Most bad events b in 0..n for which the objective still holds; -1 if none does."""
    target = 1 - budget
    ok = [b for b in range(n + 1) if (Fraction(n - b, n) > target if strict else Fraction(n - b, n) >= target)]
    return max(ok, default=-1)


def brute_credit(n: int, op: str, value: Fraction) -> int:
    """Fewest bad events b in 0..n whose good fraction satisfies `op value`; n + 1 if none does."""
    holds = Comparison(op, value).holds
    return next((b for b in range(n + 1) if holds(Fraction(n - b, n))), n + 1)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 1500), budget=budgets, strict=st.booleans())
@example(n=43_200, budget=Fraction(1, 100), strict=True)
@example(n=44_580, budget=Fraction(1, 100), strict=True)
@example(n=1, budget=Fraction(1), strict=True)
def test_allowed_bad_is_brute_force(n: int, budget: Fraction, strict: bool):
    assert allowed_bad(n, budget, strict) == brute_allowed(n, budget, strict)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 1500), op=st.sampled_from(["<", "<="]), value=percent4)
@example(n=43_200, op="<", value=Fraction(985, 1000))
@example(n=43_200, op="<=", value=Fraction(985, 1000))
@example(n=10, op="<", value=Fraction(0))
def test_credit_threshold_is_brute_force(n: int, op: str, value: Fraction):
    assert credit_threshold(n, op, value) == brute_credit(n, op, value)


def test_no_events():
    # A ratio SLO with no events: nothing allowed under a strict objective (the rule clamps to 0).
    assert allowed_bad(0, Fraction(1, 1000), strict=True) == -1
    assert allowed_bad(0, Fraction(1, 1000), strict=False) == 0


def promql_floats(n: int, frac: Fraction) -> dict[str, float]:
    """The generator's PromQL, `N * p / q` evaluated left to right in doubles, as Prometheus does."""
    scaled = float(n) * frac.numerator / frac.denominator
    return {
        "strict_allowed": math.ceil(scaled) - 1,
        "allowed": math.floor(scaled),
        "credit_lt": math.floor(scaled) + 1,
        "credit_le": math.ceil(scaled),
    }


@settings(max_examples=2000, deadline=None)
@given(n=st.integers(0, 10_000_000), frac=percent4)
@example(n=10_000_000, frac=Fraction(999_999, 1_000_000))
@example(n=9_999_999, frac=Fraction(1, 1_000_000))
@example(n=44_580, frac=Fraction(15, 1000))
def test_float_formulas_are_exact(n: int, frac: Fraction):
    got = promql_floats(n, frac)
    assert got["strict_allowed"] == allowed_bad(n, frac, strict=True)
    assert got["allowed"] == allowed_bad(n, frac, strict=False)
    # Credit tiers are written on the good fraction v; the rule scales N by 1 - v.
    value = 1 - frac
    assert got["credit_lt"] == credit_threshold(n, "<", value)
    assert got["credit_le"] == credit_threshold(n, "<=", value)


@settings(max_examples=1000, deadline=None)
@given(n=st.integers(1, 10_000_000), bad=st.integers(0, 10_000_000), frac=budgets)
def test_float_compliance_comparison_is_exact(n: int, bad: int, frac: Fraction):
    """`bad * q <= bool N * p` (and `<`) in doubles agrees with the Fraction comparison."""
    bad = min(bad, n)
    assert (float(bad) * frac.denominator <= float(n) * frac.numerator) == (Fraction(bad, n) <= frac)
    assert (float(bad) * frac.denominator < float(n) * frac.numerator) == (Fraction(bad, n) < frac)


def test_exactly_99_percent_breaches_strict_objective():
    objective = Objective(good="> 99%")
    assert objective.strict and objective.budget == Fraction(1, 100)
    n = 30 * 1440  # a 30-day month without a DST change
    # 432 bad minutes is exactly 99.00 %: a breach of "> 99%", within "≥ 99%".
    assert Fraction(n - 432, n) == Fraction(99, 100)
    assert allowed_bad(n, objective.budget, objective.strict) == 431
    assert allowed_bad(n, Objective(good=">= 99%").budget, strict=False) == 432
    # `bad/N >= 1 - 0.99` in floats misses exactly 99.00 %: the reason the rules compare integers.
    assert not (432 / n >= 1 - 0.99)
    # March 2026 in New York: 44 580 minutes, 1 % is 445.8 minutes.
    assert allowed_bad(44_580, objective.budget, True) == 445
    assert allowed_bad(44_580, objective.budget, False) == 445


def test_exactly_98_5_percent_earns_no_credit():
    tier = Comparison.parse("< 98.5%")
    n = 30 * 1440
    assert Fraction(n - 648, n) == Fraction(985, 1000)
    assert not tier.holds(Fraction(n - 648, n))
    assert credit_threshold(n, tier.op, tier.value) == 649
    assert credit_threshold(n, "<=", tier.value) == 648
    assert parse_percent("98.5%") == Fraction(197, 200)


def test_error_rate_may_equal_its_budget():
    objective = Objective(bad="<= 0.1%")
    assert not objective.strict
    assert allowed_bad(1_000_000, objective.budget, objective.strict) == 1000
    assert allowed_bad(1_000_000, Objective(bad="< 0.1%").budget, True) == 999


SPEC = """\
version: 1
service: math
calendar: {timezone: UTC, table_start: "2026-01", table_months: 1}
slos:
  - name: strict
    objective: {good: "> 99.95%"}
    sli: {uptime: {probes: [p]}}
    credits:
      tiers:
        - {when: "< 99.95%", credits: 5}
        - {when: "<= 98.1234%", credits: 10}
  - name: errors
    objective: {bad: "<= 0.0123%"}
    sli: {ratio: {errors: ["e_total"], total: ["t_total"]}}
"""


def test_generator_emits_these_formulas():
    spec = Spec.model_validate(yaml.safe_load(SPEC))
    rules = {
        (r.labels["slo"], r.record, r.labels.get("credits")): r.expr
        for slo in spec.slos
        for g in gen.slo_groups(spec, slo)
        for r in g.rules
        if r.record
    }
    minutes = 'slakit:slo_period:minutes{service="math",slo="strict"}'
    assert rules[("strict", gen.ALLOWED, None)] == f"ceil({minutes} * 1 / 2000) - 1"
    assert rules[("strict", gen.CREDIT_TIER, "5")] == f"floor({minutes} * 1 / 2000) + 1"
    assert rules[("strict", gen.CREDIT_TIER, "10")] == f"ceil({minutes} * 9383 / 500000)"
    bad = 'slakit:slo_events_bad:period{service="math",slo="strict"}'
    assert rules[("strict", gen.COMPLIANT, None)] == f"{bad} * 2000 < bool {minutes} * 1"
    total = 'slakit:slo_events_total:period{service="math",slo="errors"}'
    assert rules[("errors", gen.ALLOWED, None)] == f"clamp_min(floor({total} * 123 / 1000000), 0)"


def test_promtool_evaluates_the_formulas_exactly(tmp_path: Path):
    """Prometheus' own float arithmetic on a seeded sample of N and four-decimal percentages."""
    rng = random.Random(20261123)
    pairs = [(43_200, Fraction(1, 100)), (44_580, Fraction(15, 1000)), (10_000_000, Fraction(999_999, 1_000_000))]
    pairs += [(rng.randint(1, 10_000_000), Fraction(rng.randint(1, 1_000_000), 1_000_000)) for _ in range(150)]
    checks = []
    for n, frac in pairs:
        p, q = frac.numerator, frac.denominator
        for expr, expected in (
            (f"ceil(vector({n}) * {p} / {q}) - 1", allowed_bad(n, frac, True)),
            (f"floor(vector({n}) * {p} / {q})", allowed_bad(n, frac, False)),
            (f"floor(vector({n}) * {p} / {q}) + 1", credit_threshold(n, "<", 1 - frac)),
            (f"ceil(vector({n}) * {p} / {q})", credit_threshold(n, "<=", 1 - frac)),
        ):
            checks.append({"expr": expr, "eval_time": "0m", "exp_samples": [{"labels": "{}", "value": expected}]})
    (tmp_path / "empty.rules.yml").write_text("groups: []\n")
    doc = {"rule_files": ["empty.rules.yml"], "evaluation_interval": "1m"}
    case = {"name": "budget formulas", "interval": "1m", "input_series": [], "promql_expr_test": checks}
    run_cases(tmp_path, doc, [case], tmp_path / "run")
