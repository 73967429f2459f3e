"""docs/rules.md is the contract: every recorded series and alert the generator emits is documented, and
every documented one is emitted by some spec (the examples, plus a rolling and a ratio spec)."""

from __future__ import annotations

import re

import yaml

from slakit.rules.files import render_all
from slakit.rules.maintenance import apply_calendars
from slakit.spec import load_specs
from slakit.spec.model import Spec
from tests.rules.promtool import REPO, SPECS

DOC = REPO / "docs" / "rules.md"
EXTRA = """\
version: 1
service: extra
slos:
  - name: rolling
    objective: {bad: "< 1%"}
    period: {rolling: 7d}
    sli: {ratio: {errors: ['x_total{code="500"}'], total: [x_total]}}
"""


def emitted() -> tuple[set[str], set[str]]:
    specs = load_specs(sorted(SPECS.glob("*.yaml")))
    specs = apply_calendars(specs, [str(REPO / "rules" / "maintenance" / "employee-records.yaml")])
    specs.append(Spec.model_validate(yaml.safe_load(EXTRA)))
    records, alerts = set(), set()
    for text in render_all(specs, tests=False).values():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                (records if "record" in rule else alerts).add(rule.get("record") or rule["alert"])
    return records, alerts


def documented() -> tuple[set[str], set[str]]:
    text = DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    names = {n for row in rows for n in re.findall(r"`([a-zA-Z0-9_:<>]+)`", row.split("|")[1])}
    return {n for n in names if n.startswith("slakit:")}, {n for n in names if n.startswith("Slakit")}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name).replace(re.escape("<W>"), r"\d+[mhd]") + "$")


def test_every_emitted_series_is_documented():
    records, _ = emitted()
    doc, _ = documented()
    patterns = [_pattern(n) for n in doc]
    missing = sorted(r for r in records if not any(p.match(r) for p in patterns))
    assert not missing, f"not in docs/rules.md: {missing}"


def test_every_documented_series_is_emitted():
    records, _ = emitted()
    doc, _ = documented()
    unused = sorted(n for n in doc if not any(_pattern(n).match(r) for r in records))
    assert not unused, f"documented but never generated: {unused}"


def test_alerts_match_the_docs():
    _, alerts = emitted()
    _, doc = documented()
    assert alerts == doc
