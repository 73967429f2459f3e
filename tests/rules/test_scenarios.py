"""Specs the checked-in examples do not cover, generated with the CLI and proven with promtool.

Each spec (quorum 2 of 3 locations, rolling 28 days, a strict ratio objective, custom short windows, a
disabled tier) is generated with `slakit rules generate`, passes `promtool check rules`, and passes its
generated promtool tests, except the three-day total-outage cases (~40 s each; the examples run those).
Hand-written cases then pin behaviour with values worked out by hand in the comments, next to the
reference simulator's predictions, in promtool test files written next to the generated rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from slakit.rules import generator as gen
from slakit.rules import promtool_tests
from slakit.rules import sli as minute
from slakit.rules.files import META, rule_path, slo_file_stem
from slakit.rules.periods import GROUP as PERIODS_GROUP
from slakit.rules.promql import window
from slakit.rules.promtool_tests import Case, Checks, Scenario
from slakit.rules.reference import Expectations
from slakit.spec import load_spec
from slakit.spec.model import SLO, Spec
from tests.rules.promtool import SPECS, check_rules, load_test_file, run_cases, slakit

QUORUM = """\
version: 1
service: shop
calendar: {timezone: UTC, table_start: "2026-01", table_months: 2}
slos:
  - name: uptime
    objective: {good: "> 99%"}
    sli:
      uptime: {probes: [shop-home], quorum: 2}
"""

ROLLING = """\
version: 1
service: billing
slos:
  - name: uptime
    objective: {good: "> 99.9%"}
    period: {rolling: 28d}
    sli:
      uptime: {probes: [billing-api]}
"""

STRICT_RATIO = """\
version: 1
service: search
calendar: {timezone: Europe/London, table_start: "2026-01", table_months: 2}
slos:
  - name: errors
    objective: {bad: "< 1%"}
    sli:
      ratio:
        errors: ['search_requests_total{code="500"}']
        total: [search_requests_total]
  - name: errors-lenient
    objective: {bad: "<= 1%"}
    sli:
      ratio:
        errors: ['search_requests_total{code="500"}']
        total: [search_requests_total]
"""

SHORT_WINDOWS = """\
version: 1
service: login
calendar: {timezone: Asia/Kathmandu, table_start: "2026-01", table_months: 2}
slos:
  - name: uptime
    objective: {good: "> 99%"}
    sli:
      uptime: {probes: [login-form]}
    alerting:
      burn_rates:
        - {severity: page, long: 10m, short: 2m, factor: 14.4}
        - {severity: ticket, long: 30m, short: 5m, factor: 3}
"""

DISABLED_TIER = """\
version: 1
service: cart
calendar: {timezone: America/New_York, table_start: "2026-01", table_months: 2}
slos:
  - name: uptime
    objective: {good: ">= 99.5%"}
    sli:
      uptime: {probes: [cart-add]}
    alerting:
      burn_rates:
        - {severity: page, long: 1h, short: 5m, budget_consumed: 2%}
        - {severity: page, long: 6h, short: 30m, budget_consumed: 5%, enabled: false}
        - {severity: ticket, long: 1d, short: 2h, budget_consumed: 10%}
        - {severity: ticket, long: 3d, short: 6h, budget_consumed: 10%, enabled: false}
"""

ROLLING_RATIO = """\
version: 1
service: ledger
slos:
  - name: errors
    objective: {bad: "<= 0.5%"}
    period: {rolling: 7d}
    sli:
      ratio:
        errors: ['ledger_writes_total{result="failed"}']
        total: [ledger_writes_total]
"""

SPECS_TEXT = {
    "quorum": QUORUM,
    "rolling": ROLLING,
    "rolling-ratio": ROLLING_RATIO,
    "strict-ratio": STRICT_RATIO,
    "short-windows": SHORT_WINDOWS,
    "disabled-tier": DISABLED_TIER,
}


def generate(tmp_path: Path, name: str, *args: str) -> tuple[Spec, Path]:
    """Write spec `name` into tmp_path and run `slakit rules generate` on it; return the spec and output dir."""
    spec_path = tmp_path / f"{name}.yaml"
    spec_path.write_text(SPECS_TEXT[name], encoding="utf-8")
    out = tmp_path / "out"
    proc = slakit("rules", "generate", str(spec_path), "-o", str(out), *args)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    written = {Path(line).name for line in proc.stdout.splitlines()}
    assert written == {p.name for p in out.iterdir()}
    return load_spec(spec_path), out


def promtool_doc(spec: Spec, slo: SLO, *others: SLO) -> dict[str, Any]:
    """Header of a promtool test file for these SLOs' generated rule files."""
    slos = [slo, *others]
    groups = [g for s in slos for g in gen.slo_groups(spec, s)]
    order = ([PERIODS_GROUP] if spec.calendar else []) + [
        g.name for g in sorted(groups, key=lambda g: g.interval_minutes)
    ]
    return {
        "rule_files": [rule_path(slo_file_stem(spec, s), "prometheus") for s in slos] + [rule_path(META, "prometheus")],
        "evaluation_interval": "1m",
        "group_eval_order": order,
    }


# The three-day outage cases (~40 s each) and the one-day ticket-pattern cases (~15 s) are built by the same
# code for every spec; the checked-in examples run them (test_generated_promtool.py).
LONG_CASES = ("total outage", "1d/2h ticket tier")


def run_generated_tests(out: Path, slos: list[str] | None = None) -> int:
    """Run the generated test cases but the long ones (of these SLO file stems only); return how many ran."""
    ran = 0
    for path in sorted(out.glob("*.test.yml")):
        if slos is not None and path.name.removesuffix(".test.yml") not in slos:
            continue
        doc = load_test_file(path)
        cases = [c for c in doc["tests"] if not any(long in c["name"] for long in LONG_CASES)]
        assert cases, path.name
        run_cases(out, doc, cases, out, file_name=f"short-{path.name}")
        ran += len(cases)
    return ran


def expected_alerts(case: Case, t: int, name: str) -> list[dict[str, str]]:
    entries = [a for a in case.alerts if a["eval_time"] == f"{t}m" and a["alertname"] == name]
    assert len(entries) == 1, entries
    return [a["exp_labels"] for a in entries[0]["exp_alerts"]]


@pytest.mark.parametrize("name", list(SPECS_TEXT))
def test_generated_rules_check_and_their_tests_pass(tmp_path: Path, name: str):
    spec, out = generate(tmp_path, name)
    for path in sorted(out.glob("*.rules.yml")):
        check_rules(path)
    expected = {f"{slo_file_stem(spec, s)}.{kind}.yml" for s in spec.slos for kind in ("rules", "test")}
    assert {p.name for p in out.iterdir()} == expected | {"slakit-meta.rules.yml", "slakit-meta.test.yml"}
    # The lenient twin of the strict-ratio SLO is the erp-api api-errors example's shape: its tests run there.
    first = [slo_file_stem(spec, spec.slos[0])]
    assert run_generated_tests(out, first) >= 2


def test_generated_tests_of_a_quorum_slo_see_bad_minutes():
    """With quorum 2 the generated scenarios must be seen down by two locations, or they prove nothing."""
    spec = Spec.model_validate(yaml.safe_load(QUORUM))
    doc = yaml.safe_load(promtool_tests.test_files([spec])["shop.uptime.test.yml"])
    firing = {case["name"]: sum(len(a["exp_alerts"]) for a in case.get("alert_rule_test", [])) for case in doc["tests"]}
    outage = next(name for name in firing if "total outage" in name)
    assert firing[outage] > 0, f"{outage!r} expects no alert at all"
    for name, count in firing.items():
        if " fires the " in name:
            assert count > 0, f"{name!r} expects no alert at all"


# --- quorum: three locations, two must agree -----------------------------------------------------


def test_quorum_two_of_three_locations(tmp_path: Path):
    spec, out = generate(tmp_path, "quorum", "--no-tests")
    slo = spec.slos[0]
    u = "u"
    # Minute index → outcome per location ('.' = the probe did not run at that location).
    eu = u * 70 + "d" * 20 + "d" * 10 + "d" * 5 + u * 10 + "d" * 5 + u * 20
    us = u * 70 + u * 20 + "d" * 10 + "." * 5 + "d" * 10 + "d" * 5 + u * 20
    ap = u * 70 + u * 20 + u * 10 + u * 5 + "d" * 10 + "d" * 5 + u * 20
    # Bad by quorum: minutes 90-99 (eu+us), 105-114 (us+ap), 115-119 (all three) = 25 minutes.
    # Minutes 70-89 (eu alone) and 100-104 (eu down, us silent, ap up) are not bad.
    series, timeline, minutes = Scenario(spec, slo).uptime({"eu": eu, "us": us, "ap": ap})
    bad_minutes = [t - 2 for t in range(minutes + 1) if timeline.minutes[t].bad]  # eval T counts minute T-2
    assert bad_minutes == [*range(90, 100), *range(105, 120)]
    case = Case("quorum 2 of 3: one location down does not count, two do", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    period = {"period": "1970-01"}
    # Per-minute values: eval T counts minute T-2.
    for t, bad, known in ((75, 0, 1), (91, 0, 1), (92, 1, 1), (103, 0, 1), (110, 1, 1), (121, 1, 1), (125, 0, 1)):
        checks.value(t, minute.BAD_1M, bad, **period)
        checks.value(t, minute.TOTAL_1M, known, **period)
    # 5-minute windows at eval T hold minutes T-6..T-2.
    for t, bad in ((91, 0), (101, 5), (106, 0), (121, 5), (127, 0)):
        checks.value(t, gen.bad_window(5), bad)
        checks.value(t, gen.total_window(5), 5)
    checks.value(140, gen.BAD_PERIOD, 25, **period)
    checks.value(140, gen.TOTAL_PERIOD, 139, **period)  # minutes 0..138, all seen by two locations
    # Twenty minutes down at eu alone: nothing fires (with quorum 1 a ticket would fire at eval 72).
    checks.alert_at(91, "SlakitErrorBudgetBurn", [])
    # Ticket 3d/6h (1x, limit 1%): the first bad minute (90, eval 92) of 91 known minutes is enough.
    checks.alert_at(92, "SlakitErrorBudgetBurn", [{"severity": "ticket"}])
    # Page 6h/30m (6x, limit 6%): 6 bad of 96 known minutes at eval 97; 30m window: 6 of 30.
    checks.alert_at(96, "SlakitErrorBudgetBurn", [{"severity": "ticket"}])
    checks.alert_at(97, "SlakitErrorBudgetBurn", [{"severity": "page"}, {"severity": "ticket"}])
    checks.burn(60)  # and the reference agrees everywhere the state changes
    assert expected_alerts(case, 92, "SlakitErrorBudgetBurn")[0]["severity"] == "ticket"
    run_cases(out, promtool_doc(spec, slo), [case.to_dict()], out)


def test_ha_replicas_do_not_double_count(tmp_path: Path):
    """Every input series twice, as scraped by an HA pair (`prometheus_replica` a/b): counts stay single."""
    spec, out = generate(tmp_path, "quorum", "--no-tests")
    slo = spec.slos[0]
    text = "u" * 30 + "d" * 4 + "u" * 10
    series, timeline, minutes = Scenario(spec, slo).uptime({"eu": text, "us": text})
    doubled = [type(s)({**s.labels, "prometheus_replica": replica}, s.values) for s in series for replica in ("a", "b")]
    case = Case("HA pair: duplicated series count once", doubled, minutes)
    checks = Checks(spec, slo, case, Expectations(spec, slo, timeline))
    period = {"period": "1970-01"}
    checks.value(33, minute.BAD_1M, 1, **period)  # minute 31, down at both locations: one bad minute
    checks.value(33, minute.TOTAL_1M, 1, **period)
    for metric in (minute.LOCATION_DOWN, minute.LOCATION_REPORTED):
        labels = 'service="shop",slo="uptime"'
        samples = [{"labels": f'{metric}{{location="{loc}",{labels}}}', "value": 1} for loc in ("eu", "us")]
        case.values.append({"expr": f"{metric}{{{labels}}}", "eval_time": "33m", "exp_samples": samples})
    checks.value(36, gen.bad_window(5), 4)  # minutes 30..34
    checks.value(36, gen.total_window(5), 5)
    checks.value(40, gen.BAD_PERIOD, 4, **period)
    checks.value(40, gen.TOTAL_PERIOD, 39, **period)  # minutes 0..38
    run_cases(out, promtool_doc(spec, slo), [case.to_dict()], out)


# --- custom short windows ---------------------------------------------------------------------------


def test_short_windows_fire_and_resolve_at_hand_computed_minutes(tmp_path: Path):
    spec, out = generate(tmp_path, "short-windows", "--no-tests")
    slo = spec.slos[0]
    assert {(t.long, t.short) for t in slo.tiers} == {(10, 2), (30, 5)}
    rules = (out / "login.uptime.rules.yml").read_text()
    for w in ("10m", "2m", "30m", "5m"):
        assert f"slakit:slo_burn_rate:{w}\n" in rules or f"record: slakit:slo_burn_rate:{w}" in rules
    for w in ("1h", "6h", "1d", "3d"):
        assert f"slakit:slo_events_bad:{w}" not in rules
    series, timeline, minutes = Scenario(spec, slo).uptime({"": "u" * 60 + "d" * 10 + "u" * 30})
    case = Case("short windows: ten bad minutes", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    burn = "SlakitErrorBudgetBurn"
    # Minutes 60-69 are down; eval T counts minute T-2, so bad minutes are counted at evals 62-71.
    # Page 10m/2m at 14.4x of 1%: 10m needs bad*100 > 10*14.4, i.e. 2 bad minutes: eval 63, not 62.
    # Ticket 30m/5m at 3x: 30m needs bad*100 > 30*3, i.e. 1 bad minute: eval 62.
    for t, state in (
        (61, []),
        (62, ["ticket"]),
        (63, ["page", "ticket"]),
        # Page clears when its 2m window (minutes T-3..T-2) holds no bad minute: eval 73.
        (72, ["page", "ticket"]),
        (73, ["ticket"]),
        # Ticket clears when its 5m window (minutes T-6..T-2) holds none: eval 76.
        (75, ["ticket"]),
        (76, []),
    ):
        checks.alert_at(t, burn, [{"severity": s} for s in state])
    checks.value(63, gen.bad_window(10), 2)
    checks.value(63, gen.total_window(10), 10)
    checks.value(63, gen.burn_rate(2), 100)  # minutes 60 and 61: 2 bad of 2, over a 1% budget
    checks.burn(50)
    checks.windows(63)
    run_cases(out, promtool_doc(spec, slo), [case.to_dict()], out)


# --- disabled tier ----------------------------------------------------------------------------------


def test_disabled_tiers_leave_no_trace(tmp_path: Path):
    spec, out = generate(tmp_path, "disabled-tier", "--no-tests")
    slo = spec.slos[0]
    assert [(t.long, t.short) for t in slo.tiers] == [(60, 5), (1440, 120)]
    doc = yaml.safe_load((out / "cart.uptime.rules.yml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    records = {r["record"] for r in rules if "record" in r}
    for w in ("1h", "5m", "1d", "2h"):
        assert gen.burn_rate({"1h": 60, "5m": 5, "1d": 1440, "2h": 120}[w]) in records, w
    for w in (360, 30, 4320):
        assert gen.bad_window(w) not in records and gen.burn_rate(w) not in records, w
    burn = [r for r in rules if r.get("alert") == "SlakitErrorBudgetBurn"]
    assert sorted(r["labels"]["severity"] for r in burn) == ["page", "ticket"]
    text = "\n".join(r["expr"] for r in burn)
    assert "6h" not in text and "30m" not in text and "3d" not in text
    # One bad minute in 20 (5%) would page through 6h/30m (6x of 0.5% = 3%) had it been enabled, but stays
    # under 1h/5m (14.4x = 7.2%: at most 3 bad of 60). The 1d/2h ticket (3x = 1.5%) fires.
    series, timeline, minutes = Scenario(spec, slo).uptime({"": "u" * 60 + ("u" * 19 + "d") * 20})
    case = Case("disabled 6h/30m tier: 5% bad minutes do not page", series, minutes)
    expect = Expectations(spec, slo, timeline)
    checks = Checks(spec, slo, case, expect)
    assert all("page" not in expect.burn_firing(t) for t in range(minutes + 1))
    assert any(expect.burn_firing(t) == ["ticket"] for t in range(minutes + 1))
    checks.burn(60)
    for t in range(120, minutes, 30):
        checks.alert_at(t, "SlakitErrorBudgetBurn", [{"severity": "ticket"}])
    run_cases(out, promtool_doc(spec, slo), [case.to_dict()], out)


# --- rolling 28 days --------------------------------------------------------------------------------


def test_rolling_28d_period(tmp_path: Path):
    spec, out = generate(tmp_path, "rolling", "--no-tests")
    slo = spec.slos[0]
    assert slo.period.rolling == 28 * 1440
    doc = yaml.safe_load((out / "billing.uptime.rules.yml").read_text())
    rules = {r.get("record") or r["alert"]: r for g in doc["groups"] for r in g["rules"]}
    assert window(28 * 1440) in rules[gen.BAD_PERIOD]["expr"]
    assert rules[gen.BAD_PERIOD]["labels"]["period"] == "rolling"
    assert "SlakitPeriodTableExpiring" not in rules  # no month table behind a rolling period
    # 99.9% of 40 320 minutes: 40.32 bad minutes allowed, strictly fewer -> 40.
    assert gen.allowed_bad(40_320, slo.objective.budget, slo.objective.strict) == 40
    text = "u" * 60 + "d" * 41 + "u" * 20
    series, timeline, minutes = Scenario(spec, slo).uptime({"": text})
    case = Case("rolling 28d: the 41st bad minute breaches", series, minutes)
    checks = Checks(spec, slo, case, Expectations(spec, slo, timeline))
    rolling = {"period": "rolling"}
    # Bad minutes 60..100 are counted at evals 62..102: 40 by eval 101, 41 at eval 102.
    checks.value(101, gen.BAD_PERIOD, 40, **rolling)
    checks.value(102, gen.BAD_PERIOD, 41, **rolling)
    checks.value(102, gen.TOTAL_PERIOD, 101, **rolling)  # minutes 0..100
    checks.value(102, minute.PERIOD_MINUTES, 40_320, **rolling)
    checks.value(102, gen.ALLOWED, 40, **rolling)
    checks.value(101, gen.COMPLIANT, 1, **rolling)
    checks.value(102, gen.COMPLIANT, 0, **rolling)
    checks.value(120, gen.UNKNOWN_PERIOD, 40_320 - 119, **rolling)  # known: minutes 0..118
    breach = "SlakitSLOBreached"
    checks.alert_at(101, breach, [])
    checks.alert_at(102, breach, [{"severity": "page", **rolling}])
    spent = "SlakitErrorBudgetSpent"
    # 50% of 40 allowed: the 20th bad minute (eval 81); 100%: the 40th (eval 101).
    checks.alert_at(80, spent, [])
    half, full = ({"severity": "ticket", "budget_spent": s, **rolling} for s in ("50%", "100%"))
    checks.alert_at(81, spent, [half])
    checks.alert_at(100, spent, [half])
    checks.alert_at(101, spent, [half, full])
    run_cases(out, promtool_doc(spec, slo), [case.to_dict()], out)


# --- strict ratio objective -------------------------------------------------------------------------


def test_strict_ratio_exactly_at_the_budget(tmp_path: Path):
    """1.00 % errors breaches `bad < 1%` and complies with `bad <= 1%`."""
    spec, out = generate(tmp_path, "strict-ratio", "--no-tests")
    strict, lenient = spec.slos
    assert strict.objective.strict and not lenient.objective.strict
    events = [(1000, 0, 0)] * 100 + [(990, 10, 0)] * 200
    cases: dict[str, list[Case]] = {strict.name: [], lenient.name: []}
    for slo in (strict, lenient):
        series, timeline, minutes = Scenario(spec, slo).ratio(events)
        case = Case(f"{slo.name}: exactly 1% errors", series, minutes)
        checks = Checks(spec, slo, case, Expectations(spec, slo, timeline))
        period = {"period": "1970-01"}  # London was on UTC+1 all winter 1970: January began 1969-12-31T23:00Z
        # Eval T counts the events of minute T-1; from eval 101 on each minute brings 10 errors of 1000.
        checks.value(100, gen.BAD_PERIOD, 0, **period)
        checks.value(200, gen.BAD_PERIOD, 1000, **period)
        checks.value(300, gen.BAD_PERIOD, 2000, **period)
        checks.value(300, gen.TOTAL_PERIOD, 300_000, **period)
        # Allowed: 1% of 300 000 is 3000 errors; strictly fewer is 2999.
        checks.value(300, gen.ALLOWED, 2999 if slo.objective.strict else 3000, **period)
        checks.value(100, gen.COMPLIANT, 1, **period)
        checks.value(300, gen.COMPLIANT, 1, **period)  # 2000 of 300 000 is 0.67%
        checks.alert_at(300, "SlakitSLOBreached", [])
        cases[slo.name].append(case)
    # A second case: exactly 1% from the first minute.
    exact = [(990, 10, 0)] * 120
    for slo, compliant in ((strict, 0), (lenient, 1)):
        series, timeline, minutes = Scenario(spec, slo).ratio(exact)
        case = Case(f"{slo.name}: 1.00% errors all period", series, minutes)
        checks = Checks(spec, slo, case, Expectations(spec, slo, timeline))
        period = {"period": "1970-01"}
        checks.value(100, gen.BAD_PERIOD, 1000, **period)
        checks.value(100, gen.TOTAL_PERIOD, 100_000, **period)
        checks.value(100, gen.COMPLIANT, compliant, **period)
        checks.value(100, gen.SLI_PERIOD, 0.99, **period)
        breach = [] if compliant else [{"severity": "page", **period}]
        checks.alert_at(100, "SlakitSLOBreached", breach)
        cases[slo.name].append(case)
    # One promtool file per SLO: an alert_rule_test sees every alert of its name in the loaded rule files.
    for slo in (strict, lenient):
        doc = promtool_doc(spec, slo)
        run_cases(out, doc, [c.to_dict() for c in cases[slo.name]], out, file_name=f"{slo.name}.case.test.yml")


# --- operator format --------------------------------------------------------------------------------


def test_operator_format_has_the_same_groups(tmp_path: Path):
    specs = sorted(str(p) for p in SPECS.glob("*.yaml"))
    assert len(specs) >= 2
    prom, operator = tmp_path / "prom", tmp_path / "operator"
    for out, fmt in ((prom, "prometheus"), (operator, "operator")):
        proc = slakit("rules", "generate", *specs, "-o", str(out), "--format", fmt)
        assert proc.returncode == 0, proc.stderr
    assert not list(operator.glob("*.test.yml"))
    objects = {}
    for path in sorted(operator.iterdir()):
        assert path.name.endswith(".prometheusrule.yaml"), path.name
        obj = yaml.safe_load(path.read_text())
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        assert obj["kind"] == "PrometheusRule"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "slakit"
        objects[path.name.removesuffix(".prometheusrule.yaml")] = obj
    assert set(objects) == {"employee-records", "erp-api", "slakit-meta"}
    for service, obj in objects.items():
        files = sorted(prom.glob(f"{service}.*rules.yml" if service != "slakit-meta" else "slakit-meta.rules.yml"))
        assert files, service
        groups = [g for f in files for g in yaml.safe_load(f.read_text())["groups"]]
        key = lambda g: g["name"]  # noqa: E731
        assert sorted(obj["spec"]["groups"], key=key) == sorted(groups, key=key), service
        assert obj["metadata"]["name"] == ("slakit-meta" if service == "slakit-meta" else f"slakit-{service}")
        # The groups are valid Prometheus rules in their own right.
        plain = tmp_path / f"{service}.from-operator.rules.yml"
        plain.write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}, sort_keys=False))
        check_rules(plain)
