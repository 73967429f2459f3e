"""Every panel query of the generated dashboards runs on a real Prometheus and returns data.

Two days of exporter, traffic and delivery counters (tests/dashboards/synthetic.py) are backfilled with
promtool, then every recording rule generated from rules/specs/*.yaml is backfilled on them level by level.
Prometheus then starts with the generated rules loaded, so the alerts of the last minutes' erp-api outage
fire for real. Each panel's queries, with Grafana's variables filled in, must return data; the overview's
stat panels must return exactly the month-to-date numbers computed from the synthetic schedule.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slakit.dashboards.build import all_dashboards
from slakit.dashboards.grafana import Json
from slakit.rules.files import write_rules
from slakit.rules.periods import START
from slakit.spec import load_specs
from slakit.spec.calendar import period_of, zone
from tests.dashboards import synthetic
from tests.dashboards.prom import Prometheus, recording_levels
from tests.rules.promtool import SPECS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

HISTORY_MINUTES = 30 * 60
# erp-api is down for the last hour: Prometheus, started on the backfilled history with the generated rules,
# finds its 30m and 6h windows burning (6× tier) and pages. No sample lies in the future: the TSDB would
# reject the live evaluations older than the newest backfilled block.
OUTAGE_MINUTES = 60
# Grafana's variables, filled in as Grafana would for a 1m-resolution Prometheus.
VARIABLES = {"$__rate_interval": "5m", "${datasource}": "prometheus"}
RANGE_HOURS = 6


def fill(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def panels_with_queries(dashboard: Json) -> list[Json]:
    return [p for p in dashboard["panels"] if p.get("targets")]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    prom = Prometheus(tmp_path / "prometheus")
    try:
        yield prom
    finally:
        prom.stop()


def wait_for(prom: Prometheus, expr: str, timeout: float = 420) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = prom.query(expr, time.time())
        if result:
            return result
        time.sleep(2)
    raise AssertionError(
        f"{expr} returned nothing for {timeout}s:\n" + (prom.root / "prometheus.log").read_text()[-2000:]
    )


def test_every_panel_query_returns_data_and_stats_are_exact(tmp_path: Path, prometheus: Prometheus) -> None:
    specs = load_specs(sorted(SPECS.glob("*.yaml")))
    rules_dir = tmp_path / "rules"
    rule_files = [p for p in write_rules(specs, rules_dir, tests=False) if p.name.endswith(".rules.yml")]
    dashboards = all_dashboards(specs)
    timezone = specs[0].calendar.timezone
    assert {s.calendar.timezone for s in specs} == {timezone}

    now = int(time.time()) // 60 * 60
    schedule = synthetic.Schedule(start=now - 60 * HISTORY_MINUTES, minutes=HISTORY_MINUTES, outage=OUTAGE_MINUTES)
    table = {p.label: p.start for p in specs[0].periods}
    table["beyond-table"] = specs[0].periods[-1].end
    fams = synthetic.families(schedule, table, timezone, table_until=HISTORY_MINUTES)
    prometheus.backfill_openmetrics(synthetic.openmetrics_days(fams), tmp_path)
    prometheus.start()

    end = now - 60
    levels = recording_levels(rule_files, given={START})
    for index, level in enumerate(levels):
        # The last restart loads the generated rules: they run live from then on (see the end of the test).
        live = rule_files if index == len(levels) - 1 else []
        prometheus.backfill_rules(index, level, schedule.start, end, tmp_path, live)

    # The instant the stat panels are read: the last backfilled evaluation, or one well inside last month
    # when "now" is right after a month boundary (backfilled series carry no staleness markers).
    tz = zone(timezone)
    candidate = end
    if end - period_of(end - 120, tz).start < 1800:
        candidate = period_of(end - 120, tz).start - 600
    elapsed = 'slakit:slo_period:elapsed_minutes{service="erp-api",slo="uptime"}'
    at = float(prometheus.query(f"timestamp({elapsed})", candidate)[0]["value"][1])
    assert candidate - 60 < at <= candidate

    # Overview stat panels: exact month-to-date numbers.
    overview = dashboards[0]
    checked = 0
    for spec in specs:
        for slo in spec.slos:
            lag = 120 if slo.sli.kind == "uptime" else 60
            counted = int(at) // 60 * 60 - lag
            period = period_of(counted, tz)
            if slo.sli.kind == "uptime":
                expected = synthetic.uptime_expected(schedule, spec.service, slo, period, counted)
            else:
                expected = synthetic.ratio_expected(schedule, period, counted)
            if period.start <= schedule.start:  # the usual case: the month holds the whole history
                assert expected.bad > 0 and expected.total > 0, (spec.service, slo.name, expected)
            values = synthetic.stat_values(slo, expected)
            row = _slo_stats(overview, spec.service, slo.name)
            for panel in row:
                expr = fill(panel["targets"][0]["expr"])
                result = prometheus.query(expr, at)
                assert len(result) == 1, (panel["title"], expr, result)
                got = float(result[0]["value"][1])
                if panel["title"] == "Alerts firing":
                    assert got == 0, (expr, result)  # nothing fired in backfilled history
                    continue
                want = next(v for k, v in values.items() if panel["title"].startswith(k))
                assert got == pytest.approx(want, rel=1e-12, abs=0), (spec.service, slo.name, panel["title"], expr)
                checked += 1
    assert checked == 3 * 7

    # Every query of every panel and annotation returns data (time series over the last hours).
    for dashboard in dashboards:
        for panel in panels_with_queries(dashboard):
            for tgt in panel["targets"]:
                expr = fill(tgt["expr"])
                if tgt["instant"]:
                    assert prometheus.query(expr, at), (dashboard["uid"], panel["title"], expr)
                else:
                    series = prometheus.query_range(expr, at - RANGE_HOURS * 3600, at, 60)
                    assert series, (dashboard["uid"], panel["title"], expr)
                    assert any(v != "NaN" for s in series for _, v in s["values"]), (panel["title"], expr)
        for annotation in dashboard["annotations"]["list"]:
            if "expr" in annotation:
                expr = fill(annotation["expr"])
                series = prometheus.query_range(expr, schedule.start, at, 60)
                assert series, (dashboard["uid"], annotation["name"], expr)
                assert len(series[0]["values"]) == 60  # the synthetic 60-minute window

    # The generated rules run live on the ongoing erp-api outage: its page alert fires, and the overview's
    # "Alerts firing" panel of that SLO counts it. (Queries may stall while Prometheus compacts the
    # overlapping backfilled blocks, a minute after its start.)
    wait_for(prometheus, 'ALERTS{alertname="SlakitErrorBudgetBurn",service="erp-api",slo="uptime",severity="page"}')
    alerts = next(p for p in _slo_stats(overview, "erp-api", "uptime") if p["title"] == "Alerts firing")
    result = prometheus.query(fill(alerts["targets"][0]["expr"]), time.time())
    assert len(result) == 1 and float(result[0]["value"][1]) >= 1, result


def _slo_stats(overview: Json, service: str, slo: str) -> list[Json]:
    """The stat panels under the overview row of one SLO."""
    panels, inside = [], False
    for panel in overview["panels"]:
        if panel["type"] == "row":
            inside = panel["title"].startswith(f"{service} · {slo} —")
        elif inside:
            panels.append(panel)
    assert len(panels) == 8, (service, slo, [p["title"] for p in panels])
    return panels
