"""Run the real promtool on rule files and on promtool unit-test files, one test case at a time."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "rules" / "generated"
SPECS = REPO / "rules" / "specs"


def promtool() -> str:
    path = shutil.which("promtool") or "/usr/bin/promtool"
    assert Path(path).exists(), "promtool is not installed (make system-deps)"
    return path


def run(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def check_rules(path: Path) -> None:
    proc = run("check", "rules", str(path))
    assert proc.returncode == 0, f"promtool check rules {path.name}:\n{proc.stdout}\n{proc.stderr}"
    assert "SUCCESS" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def load_test_file(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["tests"], f"{path.name} has no test cases"
    return doc


def run_cases(
    rules_dir: Path, doc: dict[str, Any], cases: list[dict[str, Any]], workdir: Path, file_name: str = "case.test.yml"
) -> str:
    """Copy the rule files `doc` loads into `workdir`, write a test file with `cases` only, run promtool.

    Returns promtool's output; fails unless promtool exits 0 and says SUCCESS.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if workdir.resolve() != rules_dir.resolve():
        for name in doc["rule_files"]:
            shutil.copyfile(rules_dir / name, workdir / name)
    one = {**doc, "tests": cases}
    test_file = workdir / file_name
    assert not test_file.exists(), f"{test_file} already written"
    test_file.write_text(yaml.safe_dump(one, sort_keys=False), encoding="utf-8")
    proc = run("test", "rules", test_file.name, cwd=workdir)
    out = proc.stdout + proc.stderr
    names = ", ".join(c["name"] for c in cases)
    assert proc.returncode == 0, f"promtool test rules failed for {names}:\n{out[-6000:]}"
    assert "SUCCESS" in out, out
    return out


def slakit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slakit", *args], cwd=cwd or REPO, capture_output=True, text=True, timeout=120
    )
