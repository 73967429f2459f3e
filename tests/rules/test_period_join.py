"""Last month's period series can outlive the boundary (no staleness markers after a restart or a
backfill); the per-minute rules must join only the freshest one instead of failing as many-to-many."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from slakit.rules.files import write_rules
from slakit.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def test_a_lingering_period_series_does_not_break_the_minute_rules(tmp_path: Path) -> None:
    write_rules([load_spec(REPO / "rules/specs/erp-api.yaml")], tmp_path, tests=False)
    labels = 'contract="api-sla",service="erp-api",slo="uptime"'
    stale = f'slakit:slo_period:elapsed_minutes{{{labels},period="1969-11"}}'
    test = {
        "rule_files": ["erp-api.uptime.rules.yml", "slakit-meta.rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": ["slakit-periods", "slakit-erp-api-uptime-1m", "slakit-erp-api-uptime-5m"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # A series of another period, last written at 2m, visible through the 5m lookback.
                    {"series": stale, "values": "100 101 102"},
                    {
                        "series": 'slakit_probe_minutes_total{service="erp-api",probe="erp-health",outcome="up"}',
                        "values": "0+1x10",
                    },
                    {
                        "series": 'slakit_probe_minutes_total{service="erp-api",probe="erp-health",outcome="down"}',
                        "values": "0+0x10",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": 'slakit:slo_events_total:1m{service="erp-api",slo="uptime"}',
                        "eval_time": "4m",
                        "exp_samples": [
                            {"labels": f'slakit:slo_events_total:1m{{{labels},period="1969-12"}}', "value": 1}
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "join.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run([PROMTOOL, "test", "rules", "join.test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
