"""Structure of the generated dashboards: datasource variable, ids, uids, layout, series, reproducibility.

No JSON Schema of Grafana's dashboard model ships in a package (grafana-foundation-sdk's PyPI build has
none, and targets Grafana 10.1), so the invariants Grafana relies on are asserted here directly.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from slakit.dashboards import panels as p
from slakit.dashboards.build import all_dashboards
from slakit.dashboards.files import dump, render_dashboards, render_provisioning, write_dashboards
from slakit.dashboards.grafana import GRID_WIDTH, UID_MAX, Layout, dashboard_uid, row, stat
from slakit.rules.files import render_all
from slakit.rules.maintenance import PLANNED_1M
from slakit.spec import load_specs
from tests.rules.promtool import REPO, SPECS, slakit

GRAFANA = REPO / "grafana"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
METRIC = re.compile(r"\b(slakit[a-zA-Z0-9_:]*|ALERTS)\b(?![(])")

EXTRA_SPEC = """\
version: 1
service: a-service-with-a-rather-long-name-for-grafana-uids
labels: {team: payments}
slos:
  - name: checkout-errors
    objective: {good: "> 99.5%"}
    period: {rolling: 28d}
    sli:
      ratio:
        errors: ['http_requests_total{job="checkout",code=~"5.."}']
        total: ['http_requests_total{job="checkout"}']
  - name: checkout-uptime
    objective: {good: ">= 99.9%"}
    period: {rolling: 7d}
    alerting:
      burn_rates:
        - {severity: page, long: 1h, short: 5m, factor: 14.4}
    sli:
      uptime: {probes: [checkout], probe_service: checkout-probe, quorum: 2}
"""


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory):
    extra = tmp_path_factory.mktemp("specs") / "extra.yaml"
    extra.write_text(EXTRA_SPEC)
    return load_specs([*sorted(SPECS.glob("*.yaml")), extra])


@pytest.fixture(scope="module")
def dashboards(specs):
    return all_dashboards(specs)


def query_panels(dashboard: dict) -> list[dict]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def test_every_query_uses_the_datasource_variable(dashboards):
    for dashboard in dashboards:
        variables = dashboard["templating"]["list"]
        assert [(v["name"], v["type"], v["query"]) for v in variables] == [("datasource", "datasource", "prometheus")]
        for panel in query_panels(dashboard):
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert panel["targets"], panel["title"]
            refs = [t["refId"] for t in panel["targets"]]
            assert len(set(refs)) == len(refs), panel["title"]
            for tgt in panel["targets"]:
                assert tgt["datasource"] == DATASOURCE and tgt["expr"].strip(), panel["title"]
        queries = [a for a in dashboard["annotations"]["list"] if "expr" in a]
        assert all(a["datasource"] == DATASOURCE for a in queries)
        builtin = [a for a in dashboard["annotations"]["list"] if "expr" not in a]
        assert [a.get("builtIn") for a in builtin] == [1]


def test_ids_uids_and_titles_are_unique_and_stable(dashboards, specs):
    uids = [d["uid"] for d in dashboards]
    assert len(set(uids)) == len(uids) and all(len(u) <= UID_MAX for u in uids)
    assert uids == [dashboard_uid("overview"), *(dashboard_uid(s.service) for s in specs)]
    assert uids[1:3] == ["slakit-employee-records", "slakit-erp-api"]  # what the specs' dashboard_url name
    assert len(uids[3]) == UID_MAX and uids[3] != dashboard_uid("a-service-with-a-rather-long-name-for-grafana-uidz")
    assert len({d["title"] for d in dashboards}) == len(dashboards)
    for dashboard in dashboards:
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert ids == list(range(1, len(ids) + 1))
        assert dashboard["schemaVersion"] == 39 and dashboard["id"] is None


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
    )


def assert_layout(panels: list[dict]) -> None:
    for panel in panels:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= GRID_WIDTH and g["y"] >= 0 and g["h"] > 0, panel
        if panel["type"] == "row":
            assert (g["x"], g["w"], g["h"]) == (0, GRID_WIDTH, 1)
    for a, b in itertools.combinations(panels, 2):
        assert not overlap(a["gridPos"], b["gridPos"]), (a["title"], b["title"])


def test_panels_do_not_overlap(dashboards):
    for dashboard in dashboards:
        assert_layout(dashboard["panels"])


@given(st.lists(st.tuples(st.integers(1, GRID_WIDTH), st.integers(1, 9), st.booleans()), max_size=40))
def test_layout_never_overlaps(sizes):
    layout = Layout()
    for index, (w, h, is_row) in enumerate(sizes):
        layout.add(row(str(index)) if is_row else {**stat(str(index), "up"), "gridPos": {"w": w, "h": h}})
    assert [panel["id"] for panel in layout.panels] == list(range(1, len(sizes) + 1))
    assert_layout(layout.panels)


def test_panels_read_only_generated_series_and_documented_metrics(dashboards, specs):
    recorded = set()
    for content in render_all(specs, tests=False).values():
        recorded |= set(re.findall(r"record: (\S+)", content))
    documented = set(re.findall(r"`(slakit_[a-z_]+)`", (REPO / "docs" / "metrics.md").read_text()))
    allowed = recorded | documented | {"ALERTS", PLANNED_1M}
    used = set()
    for dashboard in dashboards:
        exprs = [t["expr"] for panel in query_panels(dashboard) for t in panel["targets"]]
        exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
        for expr in exprs:
            names = set(METRIC.findall(expr))
            assert names, expr
            used |= {n.removesuffix("_bucket") for n in names}
    assert used <= allowed | {"slakit_probe_duration_seconds"}, used - allowed
    # Panels on recorded series read them as they are: no range, no subquery (Sloth's 32-day hack).
    for dashboard in dashboards:
        for panel in query_panels(dashboard):
            for tgt in panel["targets"]:
                assert "slakit:" not in tgt["expr"] or "[" not in tgt["expr"], tgt["expr"]


def test_every_slo_has_an_overview_row_and_detail_panels(dashboards, specs):
    overview, details = dashboards[0], dashboards[1:]
    rows = [panel["title"] for panel in overview["panels"] if panel["type"] == "row"]
    assert rows == [p.slo_title(spec, slo) for spec in specs for slo in spec.slos]
    for spec, detail in zip(specs, details, strict=True):
        titles = [panel["title"] for panel in detail["panels"]]
        for slo in spec.slos:
            assert p.slo_title(spec, slo) in titles
        assert ("Probe latency" in titles) == p.has_probes(spec)
        assert detail["timezone"] == (spec.calendar.timezone if spec.calendar else "utc")
        assert detail["time"] == {"from": "now/M", "to": "now/M"}
        burn = [panel for panel in detail["panels"] if panel["title"] == "Burn rate by window"]
        assert len(burn) == sum(1 for slo in spec.slos if slo.tiers)
    erp = details[1]
    burn = next(panel for panel in erp["panels"] if panel["title"] == "Burn rate by window")
    steps = [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 1.0, 3.0, 6.0, 14.4]  # the workbook factors of the four default tiers
    assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


def test_output_is_byte_reproducible(specs):
    first, second = render_dashboards(specs), render_dashboards(specs)
    assert first == second
    for name, text in first.items():
        assert text.endswith("}\n") and dump(json.loads(text)) == text, name


def test_checked_in_grafana_files_are_current():
    files = render_dashboards(load_specs(sorted(SPECS.glob("*.yaml"))))
    assert sorted(path.name for path in (GRAFANA / "dashboards").iterdir()) == sorted(files)
    for name, text in files.items():
        assert (GRAFANA / "dashboards" / name).read_text() == text, f"grafana/dashboards/{name}: run make generate"
    for name, text in render_provisioning("/var/lib/grafana/dashboards/slakit", "http://127.0.0.1:9090").items():
        assert (GRAFANA / "provisioning" / name).read_text() == text, name


def test_provisioning_files(tmp_path: Path, specs):
    written = write_dashboards(specs[:1], tmp_path / "d", tmp_path / "p", "/srv/dash", "http://prom:9090")
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "d/slakit-overview.json",
        "d/slakit-employee-records.json",
        "p/dashboards/slakit.yaml",
        "p/datasources/slakit.yaml",
    }
    provider = yaml.safe_load((tmp_path / "p/dashboards/slakit.yaml").read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"] == "/srv/dash"
    source = yaml.safe_load((tmp_path / "p/datasources/slakit.yaml").read_text())["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prom:9090"


def test_cli_writes_dashboards_and_rejects_bad_specs(tmp_path: Path):
    spec = SPECS / "erp-api.yaml"
    proc = slakit("dashboards", "generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["slakit-erp-api.json", "slakit-overview.json"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.read_text().replace('good: "> 99%"', 'good: "99"'))
    proc = slakit("dashboards", "generate", str(bad), "-o", str(tmp_path / "out2"))
    assert proc.returncode == 2
    line = bad.read_text().splitlines().index('      good: "99"') + 1
    assert f"{bad}:{line}: slos[0].objective.good:" in proc.stderr, proc.stderr
    assert not (tmp_path / "out2").exists()
