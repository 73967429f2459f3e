"""The checked-in rules pass `promtool check rules`, and every checked-in promtool test case passes.

Each promtool test case runs as its own pytest test (its rule files copied into tmp_path with a one-case
test file), so pytest-xdist spreads the slow cases over the workers. Longest cases are collected first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.rules.promtool import GENERATED, check_rules, load_test_file, run_cases

RULE_FILES = sorted(GENERATED.glob("*.rules.yml"))
TEST_FILES = sorted(GENERATED.glob("*.test.yml"))
EXPECTED_RULE_FILES = {
    "employee-records.uptime.rules.yml",
    "erp-api.uptime.rules.yml",
    "erp-api.api-errors.rules.yml",
    "slakit-meta.rules.yml",
}


def _last_minute(case: dict) -> int:
    times = [c["eval_time"] for c in case.get("alert_rule_test", []) + case.get("promql_expr_test", [])]
    matches = [re.match(r"(\d+)([md])", t) for t in times]
    minutes = [int(m.group(1)) * (1440 if m.group(2) == "d" else 1) for m in matches if m]
    return max(minutes, default=0)


def _cases() -> list[tuple[str, int, str, int]]:
    out = []
    for path in TEST_FILES:
        doc = load_test_file(path)
        for index, case in enumerate(doc["tests"]):
            out.append((path.name, index, case["name"], _last_minute(case)))
    return sorted(out, key=lambda c: -c[3])


CASES = _cases()


def test_every_example_has_rules_and_tests():
    names = {p.name for p in RULE_FILES}
    assert names >= EXPECTED_RULE_FILES
    for path in RULE_FILES:
        if path.name.endswith(".support.rules.yml"):
            continue  # proven by tests/support/test_rules_promtool.py on the same spec
        assert path.with_name(path.name.replace(".rules.yml", ".test.yml")).exists(), f"no tests for {path.name}"
    # Every SLO test file proves each alert kind at least once.
    for path in TEST_FILES:
        if path.name.startswith("slakit-meta"):
            continue
        alerts = {a["alertname"] for c in load_test_file(path)["tests"] for a in c.get("alert_rule_test", [])}
        assert {"SlakitErrorBudgetBurn", "SlakitErrorBudgetSpent", "SlakitSLOBreached"} <= alerts, path.name


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path: Path):
    check_rules(path)


@pytest.mark.parametrize(("test_file", "index", "name"), [c[:3] for c in CASES], ids=[c[2] for c in CASES])
def test_promtool_case(tmp_path: Path, test_file: str, index: int, name: str):
    doc = load_test_file(GENERATED / test_file)
    case = doc["tests"][index]
    assert case["name"] == name, "test file changed since collection"
    assert case.get("alert_rule_test") or case.get("promql_expr_test"), f"{name}: asserts nothing"
    run_cases(GENERATED, doc, [case], tmp_path)
