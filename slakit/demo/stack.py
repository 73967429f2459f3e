"""The demo's processes: the slakit exporter, the Debian Prometheus and Alertmanager, all on 127.0.0.1.

Each runs in its own process group (so a terminal's Ctrl-C reaches only the demo, which then stops them in
order) and, on Linux, gets SIGTERM if the demo itself dies (`PR_SET_PDEATHSIG`): no orphans are left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml

from slakit.spec.model import Spec

HOST = "127.0.0.1"
RETENTION = "100d"  # a month of history plus the 90-day window of the credit termination rule


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def binary(*names: str) -> str:
    """The first of `names` on PATH (Debian names Alertmanager `prometheus-alertmanager`)."""
    for name in names:
        if path := shutil.which(name):
            return path
    raise FileNotFoundError(f"{' or '.join(names)} not found: install the Debian packages (make system-deps)")


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Process:
    """A child in its own process group, stdout+stderr to `log`; `stop()` ends the whole group."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, cwd: Path | None = None) -> None:
        self.name, self.log = name, log
        preexec = _die_with_parent if sys.platform == "linux" else None
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=preexec,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


async def wait_ready(url: str, process: Process, timeout: float = 60) -> None:
    """Poll `url` until it answers 200; fail early (with the log's tail) if the process died."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if not process.running():
                raise RuntimeError(f"{process.name} exited ({process.proc.returncode}):\n{process.tail()}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready at {url} after {timeout:.0f}s:\n{process.tail()}")


@dataclass
class Ports:
    exporter: int = field(default_factory=free_port)
    prometheus: int = field(default_factory=free_port)
    alertmanager: int = field(default_factory=free_port)
    alertmanager_cluster: int = 0  # unused: clustering is disabled


def exporter_config(
    state_dir: Path, health_url: str, access_log: Path, webhook_log: Path, interval: str = "5s"
) -> dict:
    """The sidecar exporter: an http probe on /health, log sources on the access and webhook logs."""
    return {
        "state_dir": str(state_dir),
        "probes": [
            {"name": "erp-health", "service": "erp-api", "url": health_url, "interval": interval, "timeout": "2s"}
        ],
        "sources": [
            {
                "name": "erp-access",
                "service": "erp-api",
                "kind": "requests",
                "path": str(access_log),
                "format": "combined",
                "start_at": "beginning",
            },
            {
                "name": "erp-webhooks",
                "service": "erp-api",
                "kind": "webhook_deliveries",
                "path": str(webhook_log),
                "format": "json",
                "fields": {"result": "result"},
                "start_at": "beginning",
            },
        ],
    }


def prometheus_config(rules_dir: Path, ports: Ports, scrape_interval: str = "15s") -> dict:
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": "1m"},
        "rule_files": [str(rules_dir / "*.rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"{HOST}:{ports.alertmanager}"]}]}]},
        "scrape_configs": [
            # honor_timestamps stays true (the default): slakit_probe_minutes_total carries minute boundaries.
            {"job_name": "slakit", "static_configs": [{"targets": [f"{HOST}:{ports.exporter}"]}]},
        ],
    }


class Stack:
    """Config files and processes under `workdir`; `stop()` ends whatever was started, in reverse order."""

    def __init__(self, workdir: Path, ports: Ports | None = None) -> None:
        self.workdir = workdir
        self.ports = ports or Ports()
        self.processes: list[Process] = []
        self.rules_dir = workdir / "rules"
        self.prometheus_data = workdir / "prometheus-data"

    @property
    def exporter_url(self) -> str:
        return f"http://{HOST}:{self.ports.exporter}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{HOST}:{self.ports.prometheus}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{HOST}:{self.ports.alertmanager}"

    def write_yaml(self, name: str, data: dict) -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def write_rules(self, specs: Sequence[Spec]) -> list[Path]:
        from slakit.rules.files import write_rules

        return write_rules(list(specs), self.rules_dir, tests=False)

    def write_alertmanager_config(self, specs: Sequence[Spec], receiver_urls: Mapping[str, str], timing) -> Path:  # type: ignore[no-untyped-def]
        from slakit.alertmanager import build_config

        return self.write_yaml("alertmanager.yml", build_config(specs, receiver_urls, timing))

    def _start(self, name: str, argv: Sequence[str]) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log", cwd=self.workdir)
        self.processes.append(process)
        return process

    async def start_exporter(self, config: Path) -> Process:
        process = self._start(
            "exporter",
            [
                sys.executable,
                "-m",
                "slakit.exporter",
                "--config.file",
                str(config),
                "--web.listen-address",
                f"{HOST}:{self.ports.exporter}",
            ],
        )
        await wait_ready(self.exporter_url + "/-/ready", process)
        return process

    async def start_prometheus(self, config: Path) -> Process:
        process = self._start(
            "prometheus",
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.prometheus_data}",
                f"--storage.tsdb.retention.time={RETENTION}",
                f"--web.listen-address={HOST}:{self.ports.prometheus}",
                "--log.level=warn",
            ],
        )
        await wait_ready(self.prometheus_url + "/-/ready", process, timeout=120)
        return process

    async def start_alertmanager(self, config: Path) -> Process:
        process = self._start(
            "alertmanager",
            [
                binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'alertmanager-data'}",
                f"--web.listen-address={HOST}:{self.ports.alertmanager}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
        )
        await wait_ready(self.alertmanager_url + "/-/ready", process)
        return process

    def stop(self) -> None:
        while self.processes:
            self.processes.pop().stop()
