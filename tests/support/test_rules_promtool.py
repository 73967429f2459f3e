"""Support rules on the real promtool: monthly ticket totals and shares in New York months, and both alerts."""

from __future__ import annotations

from pathlib import Path

import yaml

from slakit.rules.periods import period_groups
from slakit.rules.render import rule_file
from slakit.spec.load import load_spec
from slakit.support.rules import support_groups
from tests.rules.promtool import check_rules, run
from tests.support.test_spec import SNIPPET, spec_with

SERIES = 'slakit_support_tickets_total{{service="erp-api",priority="{p}",target="{t}",outcome="{o}",instance="{i}"}}'
LABELS = {"contract": "api-sla", "service": "erp-api"}


def tickets(p: str, t: str, o: str, values: str, instance: str = "a") -> dict:
    return {"series": SERIES.format(p=p, t=t, o=o, i=instance), "values": values}


def gauge(name: str, p: str, t: str, values: str) -> dict:
    return {"series": f'{name}{{service="erp-api",priority="{p}",target="{t}",instance="a"}}', "values": values}


def samples(name: str, value: float, **labels: str) -> dict:
    inner = ",".join(f'{k}="{v}"' for k, v in {**LABELS, **labels}.items())
    return {"labels": f"{name}{{{inner}}}", "value": value}


def alert(name: str, p: str, t: str, severity: str) -> dict:
    if name == "SlakitSupportTicketAtRisk":
        summary = f"erp-api: a {p} support ticket is at risk"
        description = f"An open {p} ticket of erp-api has less than 25% of its {t} allowance left."
    else:
        summary = f"erp-api: a {p} support ticket breached its target"
        description = (
            f"A {p} ticket of erp-api is past its {t} deadline, or was answered or resolved after it within the "
            "last hour."
        )
    return {
        "exp_labels": {**LABELS, "priority": p, "target": t, "severity": severity},
        "exp_annotations": {"summary": summary, "description": description},
    }


def test_support_rules_count_months_and_alert(tmp_path: Path):
    spec = load_spec(spec_with(tmp_path, SNIPPET))
    (tmp_path / "support.rules.yml").write_text(rule_file(support_groups(spec), "test"))
    (tmp_path / "periods.rules.yml").write_text(rule_file(period_groups([spec]), "test"))
    check_rules(tmp_path / "support.rules.yml")
    # promtool starts at the Unix epoch: 1969-12 in New York ends at 05:00 UTC (minute 300).
    met = "0x9 1x189 2x109 3x90"  # +1 at minutes 10, 200 and 310
    breached = "0x99 1x99 2x201"  # +1 at minutes 100 and 200
    period = "slakit:support_tickets:period"
    test = {
        "rule_files": ["support.rules.yml", "periods.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    tickets("urgent", "response", "met", met),
                    tickets("urgent", "response", "met", met, instance="b"),  # an exporter replica: counted once
                    tickets("urgent", "response", "breached", breached),
                    gauge("slakit_support_tickets_at_risk", "urgent", "resolution", "0x49 1x8 0x342"),  # 50..57
                    gauge("slakit_support_tickets_overdue", "high", "resolution", "0x249 1x3 0x148"),  # 250..252
                ],
                "promql_expr_test": [
                    {
                        "expr": f'{period}{{priority="urgent",target="response"}}',
                        "eval_time": "290m",
                        "exp_samples": [
                            samples(period, 2, priority="urgent", target="response", outcome="met", period="1969-12"),
                            samples(
                                period, 2, priority="urgent", target="response", outcome="breached", period="1969-12"
                            ),
                        ],
                    },
                    {
                        "expr": "slakit:support_tickets_met:ratio",
                        "eval_time": "290m",
                        "exp_samples": [
                            samples(
                                "slakit:support_tickets_met:ratio",
                                0.5,
                                priority="urgent",
                                target="response",
                                period="1969-12",
                            )
                        ],
                    },
                    {
                        "expr": f'{period}{{priority="urgent",target="response"}}',
                        "eval_time": "330m",
                        "exp_samples": [
                            samples(period, 1, priority="urgent", target="response", outcome="met", period="1970-01"),
                            samples(
                                period, 0, priority="urgent", target="response", outcome="breached", period="1970-01"
                            ),
                        ],
                    },
                    {
                        "expr": "slakit:support_tickets_met:ratio",
                        "eval_time": "330m",
                        "exp_samples": [
                            samples(
                                "slakit:support_tickets_met:ratio",
                                1,
                                priority="urgent",
                                target="response",
                                period="1970-01",
                            )
                        ],
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "45m", "alertname": "SlakitSupportTicketAtRisk", "exp_alerts": []},
                    {
                        "eval_time": "55m",
                        "alertname": "SlakitSupportTicketAtRisk",
                        "exp_alerts": [alert("SlakitSupportTicketAtRisk", "urgent", "resolution", "ticket")],
                    },
                    {"eval_time": "60m", "alertname": "SlakitSupportTicketAtRisk", "exp_alerts": []},
                    {"eval_time": "95m", "alertname": "SlakitSupportTicketBreached", "exp_alerts": []},
                    {
                        "eval_time": "105m",
                        "alertname": "SlakitSupportTicketBreached",
                        "exp_alerts": [alert("SlakitSupportTicketBreached", "urgent", "response", "page")],
                    },
                    {"eval_time": "165m", "alertname": "SlakitSupportTicketBreached", "exp_alerts": []},
                    {
                        "eval_time": "250m",
                        "alertname": "SlakitSupportTicketBreached",
                        "exp_alerts": [
                            alert("SlakitSupportTicketBreached", "high", "resolution", "page"),
                            alert("SlakitSupportTicketBreached", "urgent", "response", "page"),
                        ],
                    },
                    {"eval_time": "265m", "alertname": "SlakitSupportTicketBreached", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "support.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    proc = run("test", "rules", "support.test.yml", cwd=tmp_path)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_no_support_section_no_rules(tmp_path: Path):
    spec = load_spec(Path(__file__).resolve().parents[2] / "rules/specs/employee-records.yaml")
    assert support_groups(spec) == []
