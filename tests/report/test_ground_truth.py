"""The report against ground truth on a real Prometheus: three months backfilled (31 days, February, the DST
month), with outages, planned downtime (valid and not), a failing external dependency, ledger exclusions
(one amended), unreported minutes and data gaps. Every minute figure and every credit must be exact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from slakit.report.build import build_report
from slakit.spec import load_specs
from slakit.spec.calendar import Month, month_period, zone
from tests.report.prom import BackfilledPrometheus
from tests.report.synth import ProbeCounter, RatioSeries, UptimeSeries, backfill, inside, openmetrics_days
from tests.rules.promtool import promtool

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NY = "America/New_York"


def ny(text: str) -> int:
    """Unix seconds of a New York wall-clock time (EST/EDT as in force)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=zone(NY)).timestamp())


def span(a: str, b: str) -> tuple[int, int]:
    return ny(a), ny(b)


DOWN = [
    span("2026-01-06T10:00", "2026-01-06T10:45"),  # 45 unavailable
    span("2026-01-10T22:00", "2026-01-11T00:30"),  # inside the valid Saturday window: 150 excluded
    span("2026-01-14T12:00", "2026-01-14T12:30"),  # inside the weekday-lunch window (invalid): 30 unavailable
    span("2026-01-19T10:00", "2026-01-19T10:20"),  # MLK Day window (holiday, valid): 20 excluded
    span("2026-01-21T03:00", "2026-01-21T03:40"),  # external down from 03:10: 30 excluded, 10 unavailable
    span("2026-01-25T13:50", "2026-01-25T14:30"),  # ledger 14:00-14:20: 20 excluded, 20 unavailable
    span("2026-02-03T10:00", "2026-02-03T21:40"),  # 700 unavailable: < 98.5 %, 5 credits
    span("2026-02-28T23:50", "2026-03-01T00:30"),  # 10 in February, 30 in March
    span("2026-03-08T01:30", "2026-03-08T03:30"),  # across the DST jump: 60 real minutes
    span("2026-03-14T20:00", "2026-03-14T21:00"),  # valid window: 60 excluded
    span("2026-03-17T00:00", "2026-03-18T14:20"),  # 2300 unavailable: < 95 %, 10 credits
    span("2026-03-20T01:00", "2026-03-20T01:30"),  # ledger amended to 01:00-01:10: 10 excluded, 20 unavailable
    span("2026-03-31T23:55", "2026-04-01T00:05"),  # 5 in March
]
SILENT = [span("2026-01-28T08:00", "2026-01-28T08:15"), span("2026-03-14T20:30", "2026-03-14T20:40")]
GAPS = [span("2026-01-27T06:00", "2026-01-27T07:00"), span("2026-02-20T12:00", "2026-02-20T12:30")]
EXTERNAL = [span("2026-01-21T03:10", "2026-01-21T03:50")]

CALENDAR = {
    "windows": [
        {"id": "sat-night", "service": "employee-records", "start": "2026-01-10T22:00:00-05:00",
         "end": "2026-01-11T01:00:00-05:00", "announced_at": "2026-01-05T09:00:00-05:00"},
        {"id": "wed-lunch", "service": "employee-records", "start": "2026-01-14T12:00:00-05:00",
         "end": "2026-01-14T12:30:00-05:00", "announced_at": "2026-01-05T09:00:00-05:00"},
        {"id": "mlk-day", "service": "employee-records", "start": "2026-01-19T10:00:00-05:00",
         "end": "2026-01-19T11:00:00-05:00", "announced_at": "2026-01-12T09:00:00-05:00"},
        {"id": "pi-day", "service": "employee-records", "start": "2026-03-14T20:00:00-04:00",
         "end": "2026-03-14T22:00:00-04:00", "announced_at": "2026-03-10T09:00:00-04:00"},
    ]
}  # fmt: skip
VALID_WINDOWS = [span("2026-01-10T22:00", "2026-01-11T01:00"), span("2026-01-19T10:00", "2026-01-19T11:00"),
                 span("2026-03-14T20:00", "2026-03-14T22:00")]  # fmt: skip

ENTRY = {"service": "employee-records", "slo": "uptime", "clause": "002 exclusions 2", "recorded_by": "j.doe"}
LEDGER = {
    "entries": [
        {**ENTRY, "id": "jan-vpn", "start": "2026-01-25T14:00:00-05:00", "end": "2026-01-25T14:20:00-05:00",
         "reason": "licensee VPN", "recorded_at": "2026-01-26T09:00:00-05:00"},
        {**ENTRY, "id": "mar-flood", "start": "2026-03-20T01:00:00-04:00", "end": "2026-03-20T01:30:00-04:00",
         "reason": "flood", "clause": "002 exclusions 6", "recorded_at": "2026-03-21T09:00:00-04:00"},
        {**ENTRY, "id": "mar-flood-2", "start": "2026-03-20T01:00:00-04:00", "end": "2026-03-20T01:10:00-04:00",
         "reason": "flood: the provider's own outage began at 01:10", "clause": "002 exclusions 6",
         "recorded_at": "2026-03-25T09:00:00-04:00", "supersedes": "mar-flood"},
    ]
}  # fmt: skip
LEDGER_EFFECTIVE = [span("2026-01-25T14:00", "2026-01-25T14:20"), span("2026-03-20T01:00", "2026-03-20T01:10")]
INCIDENTS = [(*span("2026-01-06T10:00", "2026-01-06T10:45"), 40), (*span("2026-03-17T00:00", "2026-03-17T02:00"), 7)]


def reference(month: str) -> dict:
    """Plain-Python ground truth, minute by minute, straight from the schedule above."""
    p = month_period(Month.parse(month), zone(NY))
    out = {"minutes": p.minutes, "unavailable": 0, "maintenance": 0, "external": 0, "ledger": 0, "unknown": 0}
    errors = events = evaluated = 0
    for m in range(p.start, p.end, 60):
        if inside(GAPS, m) or inside(SILENT, m):
            out["unknown"] += 1
        elif inside(DOWN, m):
            if inside(VALID_WINDOWS, m):
                out["maintenance"] += 1
            elif inside(EXTERNAL, m):
                out["external"] += 1
            elif inside(LEDGER_EFFECTIVE, m):
                out["ledger"] += 1
            else:
                out["unavailable"] += 1
        if not inside(GAPS, m):
            evaluated += 1
            e = next((n for a, b, n in INCIDENTS if a <= m < b), 1)
            errors, events = errors + e, events + 1000
    out["ratio"] = (errors, events, p.minutes - evaluated)
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[BackfilledPrometheus, Path]]:
    root = tmp_path_factory.mktemp("report")
    spec = yaml.safe_load((REPO / "rules/specs/employee-records.yaml").read_text())
    spec["slos"][0]["sli"]["uptime"]["external_probes"] = ["hosting-provider"]
    (root / "employee-records.yaml").write_text(yaml.safe_dump(spec))
    (root / "erp-api.yaml").write_text((REPO / "rules/specs/erp-api.yaml").read_text())
    (root / "calendar.yaml").write_text(yaml.safe_dump(CALENDAR))
    (root / "ledger.yaml").write_text(yaml.safe_dump(LEDGER))
    er = {"service": "employee-records", "slo": "uptime", "contract": "employee-records-sla"}
    api = {"service": "erp-api", "slo": "api-errors", "contract": "api-sla"}
    series = [
        UptimeSeries(er, NY, down=DOWN, silent=SILENT, gaps=GAPS),
        RatioSeries(api, NY, incidents=INCIDENTS, gaps=GAPS),
    ]
    counters = [ProbeCounter({"service": "employee-records", "probe": "hosting-provider", "location": "nyc"},
                             EXTERNAL)]  # fmt: skip
    texts = openmetrics_days(series, counters, ny("2026-01-01T00:00") - 3600, ny("2026-04-01T06:00"))
    prom = BackfilledPrometheus(root)
    backfill(texts, root, prom.data, promtool())
    prom.start()
    try:
        yield prom, root
    finally:
        prom.stop()


def run_month(setup, month: str, store: Path):
    prom, root = setup
    specs = load_specs([root / "employee-records.yaml", root / "erp-api.yaml"])
    report = build_report(
        prom.url, specs, Month.parse(month), [str(root / "calendar.yaml")], [str(root / "ledger.yaml")], str(store)
    )
    return {(r.spec.service, r.slo.name): r for r in report.slos}, report


@pytest.mark.parametrize("month", ["2026-01", "2026-02", "2026-03"])
def test_minutes_equal_ground_truth(setup, tmp_path: Path, month: str):
    slos, _ = run_month(setup, month, tmp_path / "store")
    truth = reference(month)
    up = slos[("employee-records", "uptime")]
    got = {"minutes": up.minutes, "unavailable": up.unavailable, **up.excluded, "unknown": up.unknown}
    assert got == {k: v for k, v in truth.items() if k != "ratio"}
    assert up.uptime == Fraction(truth["minutes"] - truth["unavailable"], truth["minutes"])
    assert sum(d.minutes for d in up.days) == truth["minutes"]
    assert sum(d.unavailable for d in up.days) == truth["unavailable"]
    ratio = slos[("erp-api", "api-errors")]
    assert (ratio.measured.bad_events, ratio.measured.total_events, ratio.unknown) == truth["ratio"]
    # erp-api uptime has no data at all: every minute unknown, none unavailable; worst case breaches.
    empty = slos[("erp-api", "uptime")]
    assert (empty.unknown, empty.unavailable, empty.meets_objective, empty.meets_objective_worst) == (
        truth["minutes"], 0, True, False,
    )  # fmt: skip


def test_hand_checked_figures_and_credits_over_three_months(setup, tmp_path: Path):
    store = tmp_path / "store"
    jan, _ = run_month(setup, "2026-01", store)
    feb, _ = run_month(setup, "2026-02", store)
    mar, report = run_month(setup, "2026-03", store)
    key = ("employee-records", "uptime")
    j, f, m = jan[key], feb[key], mar[key]
    assert (j.minutes, f.minutes, m.minutes) == (44_640, 40_320, 44_580)
    assert (j.unavailable, j.excluded, j.unknown) == (105, {"maintenance": 170, "external": 30, "ledger": 20}, 75)
    assert [(v.window.id, v.accepted, n) for v, n in j.windows] == [
        ("sat-night", True, 150), ("wed-lunch", False, 0), ("mlk-day", True, 20),
    ]  # fmt: skip
    assert [(v.window.id, n) for v, n in m.windows] == [("pi-day", 50)]
    assert (f.unavailable, f.unknown, f.credits) == (710, 30, 5)  # 98.239 % < 98.5 %
    # March: 30 + 60 (DST) + 2300 + 20 + 5 unavailable; the 10 silent minutes lie inside the valid window.
    assert (m.unavailable, m.excluded["maintenance"], m.excluded["ledger"], m.unknown) == (2415, 50, 10, 10)
    assert (j.credits, m.credits) == (0, 10)
    assert m.unknown_uncovered == 0 and m.credits_worst == 10
    # Jan 0 + Feb 5 + Mar 10 = 15 in 90 days: not more than 15, no termination right.
    assert [(x.month, x.credits, x.source) for x in m.rolling] == [
        ("2026-03", 10, "this report"), ("2026-02", 5, "store v1"), ("2026-01", 0, "store v1"),
    ]  # fmt: skip
    assert (m.rolling_credits, m.termination_right) == (15, False)
    assert str(m.claim_deadline) == "2026-04-30"
    assert len(report.stored) == 3 and all(w for _, _, w in report.stored)


def test_reclosing_after_an_amendment_keeps_the_earlier_version(setup, tmp_path: Path):
    prom, root = setup
    store = tmp_path / "store"
    run_month(setup, "2026-01", store)
    run_month(setup, "2026-01", store)  # unchanged: no new version
    folder = store / "employee-records" / "uptime"
    assert sorted(p.name for p in folder.iterdir()) == ["2026-01.v1.json"]
    amended = json.loads(json.dumps(LEDGER))
    amended["entries"].append({
        **ENTRY, "id": "jan-vpn-2", "supersedes": "jan-vpn", "withdrawn": True, "reason": "the VPN was up",
        "start": "2026-01-25T14:00:00-05:00", "end": "2026-01-25T14:20:00-05:00",
        "recorded_at": "2026-04-02T09:00:00-04:00",
    })  # fmt: skip
    (root / "ledger-amended.yaml").write_text(yaml.safe_dump(amended))
    specs = load_specs([root / "employee-records.yaml"])
    build_report(prom.url, specs, Month.parse("2026-01"), [str(root / "calendar.yaml")],
                 [str(root / "ledger-amended.yaml")], str(store))  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == ["2026-01.v1.json", "2026-01.v2.json"]
    v1 = json.loads((folder / "2026-01.v1.json").read_text())
    v2 = json.loads((folder / "2026-01.v2.json").read_text())
    assert (v1["unavailable_minutes"], v2["unavailable_minutes"]) == (105, 125)
    assert v2["supersedes_version"] == 1


def test_cli_markdown_and_json(setup, tmp_path: Path):
    prom, root = setup
    args = [sys.executable, "-m", "slakit", "report", "--prometheus", prom.url, "--spec",
            str(root / "employee-records.yaml"), "--month", "2026-03", "--maintenance", str(root / "calendar.yaml"),
            "--exclusions", str(root / "ledger.yaml")]  # fmt: skip
    md = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert md.returncode == 0, md.stderr
    assert "| minutes in the month | 44580 |" in md.stdout
    assert "| unavailable minutes | 2415 |" in md.stdout
    assert "| **service credits** | **10** |" in md.stdout
    assert "`pi-day` 2026-03-14 20:00 EDT – 2026-03-14 22:00 EDT: planned downtime, 50 minutes excluded" in md.stdout
    assert "wed-lunch" not in md.stdout  # January's window is not part of March's report
    out = tmp_path / "r.json"
    js = subprocess.run([*args, "--format", "json", "-o", str(out)], capture_output=True, text=True, cwd=REPO)
    assert js.returncode == 0, js.stderr
    doc = json.loads(out.read_text())["slos"][0]
    assert (doc["minutes"], doc["unavailable_minutes"], doc["credits"]) == (44580, 2415, 10)
    assert Fraction(doc["uptime"]) == Fraction(44580 - 2415, 44580) and doc["claim_deadline"] == "2026-04-30"
    assert doc["rolling_credits"]["complete"] is False  # no --store: Jan and Feb unknown


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    import shutil

    binary = shutil.which("chromium")
    assert binary, "Debian chromium is not installed (apt-get install chromium)"
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )


def test_html_report_in_headless_chromium(setup, tmp_path: Path):
    from html.parser import HTMLParser

    prom, root = setup
    html = tmp_path / "report.html"
    args = [sys.executable, "-m", "slakit", "report", "--prometheus", prom.url, "--spec",
            str(root / "employee-records.yaml"), "--spec", str(root / "erp-api.yaml"), "--month", "2026-03",
            "--maintenance", str(root / "calendar.yaml"), "--exclusions", str(root / "ledger.yaml"),
            "--format", "html", "-o", str(html)]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "<script" not in html.read_text()
    png = tmp_path / "report.png"
    shot = chromium(f"--screenshot={png}", "--window-size=1200,2000", html.as_uri(), profile=tmp_path / "p1")
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.stderr[-2000:]
    assert png.stat().st_size > 20_000  # a rendered page with tables and charts, not a blank one
    dom = chromium("--dump-dom", html.as_uri(), profile=tmp_path / "p2")
    assert dom.returncode == 0, dom.stderr[-2000:]

    class Figures(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.section, self.key, self.values, self.rects = "", None, {}, 0

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "section":
                self.section = attrs["id"]
            self.key = attrs.get("data-figure")
            self.rects += tag == "rect"

        def handle_data(self, data):
            if self.key:
                self.values[(self.section, self.key)] = self.values.get((self.section, self.key), "") + data

    parser = Figures()
    parser.feed(dom.stdout)
    er = "employee-records--uptime"
    got = {k: v.strip() for (s, k), v in parser.values.items() if s == er}
    assert got["minutes"] == "44580" and got["unavailable"] == "2415" and got["unknown"] == "10"
    assert got["excluded-maintenance"] == "50" and got["excluded-ledger"] == "10"
    assert got["uptime"] == "94.5827… %" and got["credits"] == "10"
    assert got["claim-deadline"].startswith("2026-04-30") and got["termination"] == "no"
    api = {k: v.strip() for (s, k), v in parser.values.items() if s == "erp-api--api-errors"}
    truth = reference("2026-03")["ratio"]
    assert (api["errors"], api["events"]) == (str(truth[0]), str(truth[1]))
    assert parser.rects > 31 * 2  # daily bars and timeline rows were rendered as SVG
