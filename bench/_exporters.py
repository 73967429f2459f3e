"""Start/stop the two exporters under test on 127.0.0.1, each in its own temp dir, logs kept on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._net import free_port, wait_http

REPO = Path(__file__).resolve().parent.parent
BLACKBOX = shutil.which("prometheus-blackbox-exporter") or "/usr/bin/prometheus-blackbox-exporter"

BLACKBOX_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: {timeout}s
    http:
      preferred_ip_protocol: ip4
"""


class Process:
    """A child process with its own temp dir; `.url` is its base URL on 127.0.0.1."""

    name = "process"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"slakit-bench-{self.name}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready_path(self) -> str:
        return "/metrics"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    env: dict[str, str] | None = None

    def start(self, timeout: float = 30.0):
        self.proc = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=None if self.env is None else {**os.environ, **self.env},
            stdout=open(self.dir / "stdout.log", "wb"),  # noqa: SIM115 - lives as long as the process
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(self.url + self.ready_path(), timeout=timeout, proc=self.proc)
        except Exception:
            print(self.log_tail(), file=sys.stderr)
            self.stop()
            raise
        return self

    def log_tail(self, lines: int = 30) -> str:
        path = self.dir / "stdout.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {self.name} log (last {lines} lines)\n" + "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        if exc[0] is not None and self.proc is not None:
            print(self.log_tail(), file=sys.stderr)
        self.stop()


class Blackbox(Process):
    name = "blackbox"

    def __init__(self, timeout: float = 5.0) -> None:
        super().__init__()
        self.config = self.dir / "blackbox.yml"
        self.config.write_text(BLACKBOX_CONFIG.format(timeout=timeout))

    def command(self) -> list[str]:
        return [
            BLACKBOX,
            f"--config.file={self.config}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def probe_url(self, target: str, module: str = "http_2xx") -> str:
        return f"{self.url}/probe?target={target}&module={module}"


class Slakit(Process):
    """`python -m slakit exporter` with the minimal config form, one probe per target URL."""

    name = "slakit"

    def __init__(
        self, targets: list[str], interval: float, timeout: float = 5.0, extra: str = "", trace: str = ""
    ) -> None:
        super().__init__()
        self.trace = trace  # a JSON path: run under bench._trace (GC runs, slow loop callbacks)
        self.config = self.dir / "exporter.yaml"
        lines = ["probes:"]
        for i, url in enumerate(targets):
            lines += [
                f"  - name: p{i:04d}",
                "    service: bench",
                f"    url: {url}",
                f"    interval: {interval:g}s",
                f"    timeout: {timeout:g}s",
            ]
        self.config.write_text(extra + "\n".join(lines) + "\n")

    def command(self) -> list[str]:
        wrapper = ["-m", "bench._trace", self.trace] if self.trace else ["-m"]
        return [
            sys.executable,
            *wrapper,
            "slakit",
            "exporter",
            "--config.file",
            str(self.config),
            "--web.listen-address",
            f"127.0.0.1:{self.port}",
        ]


def slakit_available() -> str | None:
    """None when `python -m slakit exporter --help` works, else why not."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "slakit", "exporter", "--help"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if out.returncode != 0 or "--config.file" not in out.stdout:
        lines = (out.stderr or out.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit {out.returncode}"
    return None
