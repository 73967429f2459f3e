"""`slakit report` bad input: a clear message and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.exporter.targets import free_port

REPO = Path(__file__).resolve().parents[2]
SPEC = str(REPO / "rules/specs/employee-records.yaml")


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slakit", "report", *args], capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "slakit report: error: input: --month: invalid month '2026-13': expected YYYY-MM"),
        (["--month", "2026-03", "--exclusions", "/nonexistent.yaml"], "/nonexistent.yaml: cannot read file"),
        (["--month", "2026-03"], "cannot query Prometheus"),
    ],
)
def test_report_input_errors(args: list[str], message: str):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = report("--prometheus", url, "--spec", SPEC, *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
