"""`slakit demo` leaves no process behind: not on Ctrl-C (SIGINT), and not when it is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def children_of(workdir: Path) -> set[int]:
    """Processes whose command line names the demo's work directory (exporter, Prometheus, Alertmanager)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(workdir).encode() in cmdline and b"slakit demo" not in cmdline.replace(b"\0", b" "):
            pids.add(int(entry.name))
    return pids


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def start_demo(workdir: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "slakit", "demo", "--no-backfill", "--workdir", str(workdir)],
        cwd=REPO,
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
    )


def wait_started(proc: subprocess.Popen, workdir: Path, out: Path) -> set[int]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, out.read_text()
        if "STEADY" in out.read_text():
            pids = children_of(workdir)
            assert len(pids) == 3, (pids, out.read_text())
            return pids
        time.sleep(0.5)
    raise AssertionError("demo did not start:\n" + out.read_text())


def wait_gone(pids: set[int], timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.timeout(180)
def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    workdir, out = tmp_path / "demo", tmp_path / "out.txt"
    proc = start_demo(workdir, out)
    try:
        pids = wait_started(proc, workdir, out)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_gone(pids) == set()
    assert "interrupted: everything is stopped" in out.read_text()


@pytest.mark.timeout(180)
def test_killed_demo_leaves_no_orphans(tmp_path: Path) -> None:
    workdir, out = tmp_path / "demo", tmp_path / "out.txt"
    proc = start_demo(workdir, out)
    try:
        pids = wait_started(proc, workdir, out)
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup code runs: the children get SIGTERM from the kernel
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = wait_gone(pids)
    for pid in left:  # do not leave them running even if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert left == set()
