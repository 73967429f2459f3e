"""Planned downtime as generated rules, proven with promtool: a total outage through an accepted window
counts only the minutes outside it, and SlakitPlannedDowntime fires exactly while the window is open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.contract.conftest import REPO
from tests.rules.promtool import promtool

SPEC = """\
version: 1
service: payroll
calendar: {timezone: America/New_York, table_start: "2026-01", table_months: 2}
maintenance:
  business_hours: {timezone: America/New_York}
slos:
  - name: uptime
    objective: {good: "> 99%"}
    sli:
      uptime: {probes: [login]}
"""
# promtool runs at the Unix epoch: 1970-01-01 00:30Z is Wed 1969-12-31 19:30 EST, after business hours.
CALENDAR = """\
windows:
  - id: epoch-upgrade
    service: payroll
    start: 1970-01-01T00:30:00Z
    end: 1970-01-01T01:30:00Z
    announced_at: 1969-12-28T00:00:00Z
  - id: lunch
    service: payroll
    start: 1970-01-02T17:00:00Z
    end: 1970-01-02T17:30:00Z
    announced_at: 1969-12-28T00:00:00Z
"""


def generate(tmp_path: Path, *extra: str) -> Path:
    (tmp_path / "payroll.yaml").write_text(SPEC)
    (tmp_path / "cal.yaml").write_text(CALENDAR)
    out = tmp_path / "rules"
    proc = subprocess.run(
        [sys.executable, "-m", "slakit", "rules", "generate", str(tmp_path / "payroll.yaml"), "-o", str(out),
         "--no-tests", *extra],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def sel(name: str) -> str:
    return name + '{service="payroll",slo="uptime"}'


def test_window_removes_minutes_and_fires_planned_downtime(tmp_path: Path):
    out = generate(tmp_path, "--maintenance", str(tmp_path / "cal.yaml"))
    rules = (out / "payroll.uptime.rules.yml").read_text()
    assert "1800" in rules and "5400" in rules  # the accepted window, as constants
    assert "147600" not in rules  # Fri 1970-01-02 12:00 EST is business hours (Jan 1 would be a holiday)
    labels = {"service": "payroll", "slo": "uptime"}
    test = {
        "rule_files": ["payroll.uptime.rules.yml", "slakit-meta.rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": ["slakit-periods", "slakit-payroll-uptime-1m", "slakit-payroll-uptime-5m"],
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'slakit_probe_minutes_total{service="payroll",probe="login",outcome="down"}',
                 "values": "0+1x200"},
                {"series": 'slakit_probe_minutes_total{service="payroll",probe="login",outcome="up"}',
                 "values": "0+0x200"},
            ],
            "promql_expr_test": [
                # The evaluation at T counts minute T - 2m: minute 29 is down, minutes 30..89 are planned.
                {"expr": sel("slakit:slo_events_bad:1m"), "eval_time": "31m",
                 "exp_samples": [{"labels": _labels("slakit:slo_events_bad:1m", labels, "1969-12"), "value": 1}]},
                {"expr": sel("slakit:slo_events_bad:1m"), "eval_time": "32m",
                 "exp_samples": [{"labels": _labels("slakit:slo_events_bad:1m", labels, "1969-12"), "value": 0}]},
                {"expr": sel("slakit:slo_minutes_planned:1m"), "eval_time": "91m",
                 "exp_samples": [{"labels": _labels("slakit:slo_minutes_planned:1m", labels), "value": 1}]},
                {"expr": sel("slakit:slo_events_bad:1m"), "eval_time": "92m",
                 "exp_samples": [{"labels": _labels("slakit:slo_events_bad:1m", labels, "1969-12"), "value": 1}]},
                # By 120m minutes 0..118 are counted: 119 down, 60 of them planned.
                {"expr": sel("slakit:slo_events_bad:period"), "eval_time": "120m",
                 "exp_samples": [{"labels": _labels("slakit:slo_events_bad:period", labels, "1969-12"),
                                  "value": 59}]},
                {"expr": sel("slakit:slo_events_total:period"), "eval_time": "120m",
                 "exp_samples": [{"labels": _labels("slakit:slo_events_total:period", labels, "1969-12"),
                                  "value": 119}]},
            ],
            "alert_rule_test": [
                {"eval_time": "29m", "alertname": "SlakitPlannedDowntime", "exp_alerts": []},
                {"eval_time": "30m", "alertname": "SlakitPlannedDowntime", "exp_alerts": [_planned(labels)]},
                {"eval_time": "89m", "alertname": "SlakitPlannedDowntime", "exp_alerts": [_planned(labels)]},
                {"eval_time": "90m", "alertname": "SlakitPlannedDowntime", "exp_alerts": []},
            ],
        }],
    }  # fmt: skip
    path = out / "planned.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run([promtool(), "test", "rules", path.name], capture_output=True, text=True, cwd=out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _labels(name: str, labels: dict[str, str], period: str | None = None) -> str:
    extra = {**labels, **({"period": period} if period else {})}
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(extra.items())) + "}"


def _planned(labels: dict[str, str]) -> dict:
    return {
        "exp_labels": {**labels, "severity": "none"},
        "exp_annotations": {
            "summary": "payroll: planned downtime in progress",
            "description": "An accepted maintenance window of payroll is open: its minutes are excluded from the "
            "uptime SLO. Inhibit the service's other alerts while this fires.",
        },
    }


@pytest.mark.parametrize("calendar", [False, True])
def test_rules_check_with_promtool(tmp_path: Path, calendar: bool):
    out = generate(tmp_path, *(["--maintenance", str(tmp_path / "cal.yaml")] if calendar else []))
    proc = subprocess.run([promtool(), "check", "rules", str(out / "payroll.uptime.rules.yml")], capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("slakit:slo_minutes_planned:1m" in (out / "payroll.uptime.rules.yml").read_text()) is calendar
