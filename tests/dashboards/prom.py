"""A real Prometheus (Debian binary) on 127.0.0.1 over backfilled blocks, and rule backfill by levels.

`promtool tsdb create-blocks-from rules` evaluates rules against a running Prometheus, so rules that read
other recorded series are backfilled level by level, restarting Prometheus between levels so it serves
the new blocks (as tests/rules/test_month_backfill.py does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from tests.exporter.targets import free_port
from tests.rules.promtool import promtool

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def run(*args: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


class Prometheus:
    def __init__(self, root: Path) -> None:
        self.root, self.data = root, root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config(rule_files=[])
        self.proc: subprocess.Popen | None = None

    def config(self, rule_files: list[Path]) -> None:
        text = "global:\n  scrape_interval: 15s\n  evaluation_interval: 1m\n"
        if rule_files:
            text += "rule_files:\n" + "".join(f"  - {json.dumps(str(f))}\n" for f in rule_files)
        (self.root / "prometheus.yml").write_text(text)

    def start(self) -> None:
        log = open(self.root / "prometheus.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={self.root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.data}",
                "--storage.tsdb.retention.time=20y",
                f"--web.listen-address=127.0.0.1:{self.port}",
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

    def api(self, path: str, **params: str | float) -> list[dict]:
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=60) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def query(self, expr: str, at: float) -> list[dict]:
        return self.api("query", query=expr, time=f"{at:.3f}")

    def query_range(self, expr: str, start: float, end: float, step: int) -> list[dict]:
        return self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=step)

    def backfill_openmetrics(self, texts: list[str], workdir: Path) -> None:
        for index, text in enumerate(texts):
            om = workdir / f"raw-{index}.om"
            om.write_text(text)
            run(promtool(), "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(om), str(self.data))

    def backfill_rules(
        self, index: int, rules: list[dict], start: int, end: int, workdir: Path, live: list[Path] = ()
    ) -> None:
        """Evaluate `rules` every minute over [start, end] into blocks, then restart on them (loading `live`)."""
        # Same file and group name every level: promtool evaluates at the group's hash-derived offset, and
        # each level must be evaluated at the instants the previous one was.
        rule_file = workdir / "level" / "backfill.rules.yml"
        rule_file.parent.mkdir(exist_ok=True)
        rule_file.write_text(yaml.safe_dump({"groups": [{"name": "backfill", "interval": "1m", "rules": rules}]}))
        blocks = workdir / f"blocks-{index}"
        run(
            promtool(),
            "tsdb",
            "create-blocks-from",
            "rules",
            f"--url={self.url}",
            f"--start={start}",
            f"--end={end}",
            f"--output-dir={blocks}",
            "--quiet",
            str(rule_file),
        )
        self.stop()
        moved = 0
        for block in blocks.iterdir():
            if block.is_dir():
                os.replace(block, self.data / block.name)
                moved += 1
        assert moved, f"level {index} produced no block"
        self.config(list(live))
        self.start()


def recording_levels(rule_files: list[Path], given: set[str]) -> list[list[dict]]:
    """Every recording rule of `rule_files` not in `given`, in levels that read only earlier levels."""
    rules: dict[str, list[dict]] = {}
    for path in rule_files:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule and rule["record"] not in given:
                    rules.setdefault(rule["record"], []).append(rule)
    deps = {name: {n for r in rs for n in NAME.findall(r["expr"]) if n in rules} - {name} for name, rs in rules.items()}
    levels, done = [], set()
    while len(done) < len(rules):
        ready = sorted(n for n in rules if n not in done and deps[n] <= done)
        assert ready, f"recording rules with a cycle: {sorted(set(rules) - done)}"
        levels.append([r for n in ready for r in rules[n]])
        done |= set(ready)
    return levels
