"""The demo's Python backfill records what the generated rules record, sample by sample, on promtool.

Seven hours of synthetic history (an outage, a 5xx burst, lost webhooks, minutes without a probe, and the
New York month boundary at 1970-01-01 05:00Z) are fed to promtool as raw exporter series; the generated rules
of the demo spec evaluate them every minute. At every third minute, every recorded series of every SLO must
equal what `slakit.demo.backfill.recorded_series` computed: same label sets, same values.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from slakit.demo import backfill
from slakit.demo.history import Incident, synthetic_minutes
from slakit.rules.files import write_rules
from slakit.rules.periods import START
from slakit.spec import load_spec
from tests.rules.promtool import run

SPEC = Path(__file__).resolve().parents[2] / "slakit" / "demo" / "erp-api.demo.yaml"
MINUTES = 420
INCIDENTS = (
    Incident("lost_webhooks", first=400, minutes=6, share=0.5),
    Incident("outage", first=330, minutes=8),
    Incident("errors", first=200, minutes=5, share=0.25),
    Incident("no_probe", first=150, minutes=4),
    Incident("errors", first=125, minutes=10, share=1.0),  # across the month boundary (minute 300)
)
TARGET = {"job": "slakit", "instance": "127.0.0.1:9141"}


def selector(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def dense(series: backfill.Series, count: int) -> str:
    by_minute = {t // 60: v for t, v in series.samples}
    return " ".join(backfill.format_value(by_minute[k]) if k in by_minute else "_" for k in range(count + 1))


def evaluation_order(rules_dir: Path) -> list[str]:
    """Month table first, then each SLO's 1m group before its 5m group — as the backfill assumes for one instant.

    Without `group_eval_order` promtool evaluates the groups of one instant in a random order (a Go map).
    """
    groups = [
        g["name"] for path in sorted(rules_dir.glob("*.rules.yml")) for g in yaml.safe_load(path.read_text())["groups"]
    ]
    first = [g for g in groups if g == "slakit-periods"]
    return first + sorted(g for g in groups if g not in first)


def rule_names(rules_dir: Path) -> dict[str, set[str]]:
    """Recorded series names per SLO, from the generated files."""
    names: dict[str, set[str]] = {}
    for path in rules_dir.glob("erp-api.*.rules.yml"):
        slo = path.name.split(".")[1]
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.setdefault(slo, set()).update(r["record"] for r in group["rules"] if "record" in r)
    return names


@pytest.mark.slow
def test_backfilled_series_equal_the_rules_on_promtool(tmp_path: Path) -> None:
    spec = load_spec(SPEC)
    backfill.check_spec(spec)
    rules_dir = tmp_path / "rules"
    write_rules([spec], rules_dir, tests=False)
    names = rule_names(rules_dir)
    assert set().union(*names.values()) == backfill.recorded_names(spec)

    minutes = synthetic_minutes(MINUTES, rate=600, incidents=INCIDENTS)
    assert {m.outcome for m in minutes} == {"up", "down", "none"}
    raw = backfill.raw_series(minutes, 0, "erp-api", "erp-health", TARGET)
    recorded = backfill.recorded_series(spec, minutes, 0, range(0, MINUTES * 60 + 1, 60), slow_every=1)

    cases, checked = [], 0
    for slo in spec.slos:
        labels = spec.slo_labels(slo)
        for name in sorted(names[slo.name]):
            mine = [s for s in recorded if s.name == name and s.labels["slo"] == slo.name]
            assert mine, f"{name} of {slo.name} is never backfilled"
            for minute in range(0, MINUTES + 1, 3):
                t = minute * 60
                expected = [(s.labels, v) for s in mine for ts, v in s.samples if ts == t]
                if any(not math.isfinite(v) for _, v in expected):
                    continue  # NaN and ±Inf cannot be written as promtool expectations
                cases.append(
                    {
                        "expr": selector(name, {"service": labels["service"], "slo": slo.name}),
                        "eval_time": f"{minute}m",
                        "exp_samples": [{"labels": selector(name, lab), "value": v} for lab, v in expected],
                    }
                )
                checked += len(expected)
    assert checked > 5000
    test_file = tmp_path / "backfill.test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(p) for p in sorted(rules_dir.glob("*.rules.yml"))],
                "evaluation_interval": "1m",
                "group_eval_order": evaluation_order(rules_dir),
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [
                            {"series": selector(s.name, s.labels), "values": dense(s, MINUTES)} for s in raw
                        ],
                        "promql_expr_test": cases,
                    }
                ],
            },
            width=1_000_000,
        )
    )
    proc = run("test", "rules", str(test_file), timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


def test_period_table_rows_cover_the_history() -> None:
    spec = load_spec(SPEC)
    table = backfill.period_table([spec], 1_790_000_000, 1_790_000_000 + 3600)
    periods = {s.labels["period"] for s in table if s.name == START}
    assert "2026-09" in periods and "beyond-table" in periods
    assert all(len(s.samples) == 16 for s in table)  # every 4 minutes, both ends included
