"""Month-level ground truth on a real Prometheus: March 2026 in New York (44 580 minutes, DST inside).

Exporter counters for a known outage schedule are backfilled from OpenMetrics; the generated recording
rules are then backfilled level by level with `promtool tsdb create-blocks-from rules` (it cannot evaluate
rules that read other recorded series in one pass), restarting Prometheus on 127.0.0.1 between levels so it
serves the new blocks. The period totals must equal the schedule's minutes exactly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from slakit.rules import generator as gen
from slakit.rules import sli as minute
from slakit.rules.periods import START
from tests.rules.promtool import promtool, slakit

pytestmark = pytest.mark.slow

SPEC = """\
version: 1
service: payroll
calendar: {timezone: America/New_York, table_start: "2026-02", table_months: 3}
slos:
  - name: uptime
    objective: {good: "> 99%"}
    sli:
      uptime: {probes: [payroll-login]}
"""


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


MARCH_START, MARCH_END = ts("2026-03-01T05:00"), ts("2026-04-01T04:00")  # EST start, EDT end
DATA_START, DATA_END = ts("2026-03-01T04:00"), ts("2026-04-01T04:30")
# [start, end) in UTC, by outcome. Local times in comments (America/New_York).
DOWN = [
    (ts("2026-03-01T04:50"), ts("2026-03-01T05:00")),  # Feb 28 23:50-24:00 EST: February's
    (ts("2026-03-01T05:00"), ts("2026-03-01T05:30")),  # Mar 1 00:00-00:30: March's first 30 minutes
    (ts("2026-03-08T06:30"), ts("2026-03-08T07:30")),  # Mar 8 01:30 EST - 03:30 EDT, across the jump: 60
    (ts("2026-04-01T03:55"), ts("2026-04-01T04:05")),  # Mar 31 23:55 - Apr 1 00:05 EDT: 5 + 5
]
SILENT = [(ts("2026-03-15T12:00"), ts("2026-03-15T12:15"))]  # the probe did not run: 15 unknown minutes
MARCH_BAD, MARCH_UNKNOWN, MARCH_MINUTES = 30 + 60 + 5, 15, 44_580

# The month-boundary table (constant `vector(start)` rules) is written with the raw data; then each level of
# recording rules reads only the raw data and earlier levels.
LEVELS = [
    [minute.PERIOD_ELAPSED, minute.LOCATION_DOWN, minute.LOCATION_REPORTED],
    [minute.BAD_1M, minute.TOTAL_1M],
    [minute.PERIOD_MINUTES, gen.BAD_PERIOD, gen.TOTAL_PERIOD],
    [gen.UNKNOWN_PERIOD, gen.ALLOWED, gen.COMPLIANT, gen.SLI_PERIOD],
]
FULL_LEVELS = 2  # minute-level series over the whole month; period totals only around the end of March
FULL_RANGE = (DATA_START + 300, ts("2026-04-01T04:20"))
END_RANGE = (ts("2026-04-01T03:50"), ts("2026-04-01T04:15"))


def outcome(m: int) -> str:
    if any(a <= m < b for a, b in DOWN):
        return "down"
    if any(a <= m < b for a, b in SILENT):
        return "none"
    return "up"


def openmetrics(table: dict[str, int]) -> list[str]:
    """One OpenMetrics text per UTC day (promtool re-reads its whole input for every 2h block it writes).

    Exporter counters are stamped at each minute boundary with the minutes closed before it; the month
    table rows are the constants the `slakit-periods` rules record.
    """
    labels = 'service="payroll",probe="payroll-login",location="nyc"'
    counts = {"up": 0, "down": 0}
    days: dict[int, dict[str, list[str]]] = {}
    for t in range(DATA_START, DATA_END + 1, 60):
        rows = days.setdefault(t // 86400, {})
        for name in counts:
            line = f'slakit_probe_minutes_total{{{labels},outcome="{name}"}} {counts[name]} {t}'
            rows.setdefault(name, []).append(line)
        for period, start in table.items():
            line = f'{START}{{timezone="America/New_York",period="{period}"}} {start} {t}'
            rows.setdefault(period, []).append(line)
        kind = outcome(t)
        if kind in counts:
            counts[kind] += 1
    texts = []
    for rows in days.values():
        lines = ["# TYPE slakit_probe_minutes_total gauge", *rows.pop("up"), *rows.pop("down")]
        lines += [f"# TYPE {START} gauge"] + [line for series in rows.values() for line in series]
        texts.append("\n".join([*lines, "# EOF"]) + "\n")
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, root: Path) -> None:
        self.root, self.data = root, root / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (root / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.root / "prometheus.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={self.root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.data}",
                "--storage.tsdb.retention.time=20y",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Backfilled blocks carry no staleness markers: a series that ended (last month's period
                # label) would stay visible for the default 5m. Evaluations here are one minute apart.
                "--query.lookback-delta=59s",
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.root / "prometheus.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("Prometheus did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def query(self, expr: str, at: int) -> list[dict]:
        params = urllib.parse.urlencode({"query": expr, "time": str(at)})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{params}", timeout=30) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str, at: int) -> float:
        result = self.query(expr, at)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    prom = Prometheus(tmp_path)
    try:
        yield prom
    finally:
        prom.stop()


def run(*args: str) -> None:

    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)

    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


def recording_rules(out: Path) -> dict[str, list[dict]]:
    rules: dict[str, list[dict]] = {}
    for path in (out / "payroll.uptime.rules.yml", out / "slakit-meta.rules.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    rules.setdefault(rule["record"], []).append(rule)
    return rules


def month_table(rules: dict[str, list[dict]]) -> dict[str, int]:
    table = {}
    for rule in rules[START]:
        match = re.fullmatch(r"vector\((-?\d+)\)", rule["expr"])
        assert match and rule["labels"]["timezone"] == "America/New_York", rule
        table[rule["labels"]["period"]] = int(match.group(1))
    return table


def level_files(rules: dict[str, list[dict]]) -> list[list[dict]]:
    """The generated recording rules, grouped into backfill levels; each reads only earlier levels."""
    levels, known = [], {"slakit_probe_minutes_total", START}
    for names in LEVELS:
        level = [rule for name in names for rule in rules[name]]
        for rule in level:
            used = {name for name in rules if name in rule["expr"]}
            assert used <= known, (rule["record"], used - known)
        known |= set(names)
        levels.append(level)
    return levels


def backfill_level(prom: Prometheus, tmp_path: Path, index: int, rules: list[dict], span: tuple[int, int]) -> None:
    # The same file and group name every time: promtool evaluates a group at its hash-derived offset within
    # the interval, and each level must be evaluated at the very instants the previous one was.
    rule_file = tmp_path / "level" / "backfill.rules.yml"
    rule_file.parent.mkdir(exist_ok=True)
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "slakit-backfill", "interval": "1m", "rules": rules}]}))
    blocks = tmp_path / f"blocks-{index}"
    run(
        promtool(),
        "tsdb",
        "create-blocks-from",
        "rules",
        f"--url={prom.url}",
        f"--start={span[0]}",
        f"--end={span[1]}",
        f"--output-dir={blocks}",
        "--quiet",
        str(rule_file),
    )
    prom.stop()
    moved = 0
    for block in blocks.iterdir():
        if block.is_dir():
            os.replace(block, prom.data / block.name)
            moved += 1
    assert moved, f"level {index} produced no block"
    prom.start()


def sel(name: str, **extra: str) -> str:
    labels = {"service": "payroll", "slo": "uptime", **extra}
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def test_march_2026_new_york_on_a_real_prometheus(tmp_path: Path, prometheus: Prometheus):
    spec = tmp_path / "payroll.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "rules"
    proc = slakit("rules", "generate", str(spec), "-o", str(out), "--no-tests")
    assert proc.returncode == 0, proc.stderr
    assert (MARCH_END - MARCH_START) // 60 == MARCH_MINUTES
    rules = recording_rules(out)
    table = month_table(rules)
    assert table["2026-03"] == MARCH_START and table["2026-04"] == MARCH_END
    levels = level_files(rules)

    prometheus.data.mkdir()
    for day, text in enumerate(openmetrics(table)):
        om = tmp_path / f"day-{day}.om"
        om.write_text(text)
        run(promtool(), "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(om), str(prometheus.data))
    prometheus.start()
    raw = 'slakit_probe_minutes_total{outcome="down"}'
    assert prometheus.value(raw, DATA_END) == 10 + 30 + 60 + 10

    for index, level in enumerate(levels):
        backfill_level(prometheus, tmp_path, index, level, FULL_RANGE if index < FULL_LEVELS else END_RANGE)

    # Minute-level series: the minute 05:00Z (Mar 1, 00:00 EST) is counted two minutes later, first of March.
    first = MARCH_START + 2 * 60 + 59
    assert prometheus.value(sel(minute.PERIOD_ELAPSED), first) == 1
    assert prometheus.query(sel(minute.PERIOD_ELAPSED), first)[0]["metric"]["period"] == "2026-03"
    assert prometheus.value(sel(minute.BAD_1M), first) == 1
    # Minute-level sums over the whole month, straight from the recorded 1m series.
    month = f"[{MARCH_MINUTES}m]"
    last = MARCH_END + 60 + 59  # the evaluation that counts March's last minute
    bad_1m = sel(minute.BAD_1M, period="2026-03")
    assert prometheus.value(f"sum_over_time({bad_1m}{month})", last) == MARCH_BAD
    assert prometheus.value(f"count_over_time({bad_1m}{month})", last) == MARCH_MINUTES
    total_1m = sel(minute.TOTAL_1M, period="2026-03")
    assert prometheus.value(f"sum_over_time({total_1m}{month})", last) == MARCH_MINUTES - MARCH_UNKNOWN
    assert prometheus.value(sel(minute.PERIOD_ELAPSED, period="2026-03"), last) == MARCH_MINUTES
    assert prometheus.value(sel(minute.PERIOD_MINUTES, period="2026-03"), last) == MARCH_MINUTES

    # The recorded period levels at the evaluation that counts March's last minute.
    march = {"period": "2026-03"}
    assert prometheus.value(sel(gen.BAD_PERIOD, **march), last) == MARCH_BAD
    assert prometheus.value(sel(gen.TOTAL_PERIOD, **march), last) == MARCH_MINUTES - MARCH_UNKNOWN
    assert prometheus.value(sel(gen.UNKNOWN_PERIOD, **march), last) == MARCH_UNKNOWN
    assert prometheus.value(sel(gen.ALLOWED, **march), last) == 445  # fewer than 1% of 44 580 = 445.8
    assert prometheus.value(sel(gen.COMPLIANT, **march), last) == 1
    assert prometheus.value(sel(gen.SLI_PERIOD, **march), last) == pytest.approx(1 - MARCH_BAD / MARCH_MINUTES)
    # A minute later the counted minute is April's: its five bad minutes so far, and March is closed.
    april = ts("2026-04-01T04:09") + 59  # counts 04:07Z; April's minutes 04:00..04:07 are known
    assert prometheus.value(sel(gen.BAD_PERIOD, period="2026-04"), april) == 5
    assert prometheus.value(sel(gen.TOTAL_PERIOD, period="2026-04"), april) == 8
    assert prometheus.query(sel(gen.BAD_PERIOD, period="2026-03"), april) == []
