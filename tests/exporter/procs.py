"""A real exporter subprocess for tests."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.exporter.conftest import Samples

REPO = Path(__file__).resolve().parents[2]


class ExporterProcess:
    def __init__(self, config: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = config.with_suffix(".log")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "slakit.exporter",
                "--config.file",
                str(config),
                "--web.listen-address",
                f"127.0.0.1:{port}",
                "--log.level",
                "debug",
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 20) -> None:
        for _ in range(int(timeout * 10)):
            assert self.proc.poll() is None, self.log.read_text()
            try:
                async with session.get(self.url + "/-/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError("exporter not ready: " + self.log.read_text())

    async def samples(self, session: aiohttp.ClientSession) -> Samples:
        async with session.get(self.url + "/metrics") as resp:
            return Samples(await resp.text())

    async def wait_for(self, session: aiohttp.ClientSession, check, timeout: float = 15) -> Samples:  # type: ignore[no-untyped-def]
        for _ in range(int(timeout * 10)):
            s = await self.samples(session)
            try:
                if check(s):
                    return s
            except KeyError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError("condition not reached; last scrape:\n" + s.text[:3000])

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def start_prometheus(workdir: Path, port: int) -> subprocess.Popen:
    """The Debian `prometheus` on 127.0.0.1:`port` with `workdir`/prometheus.yml, data and log in `workdir`."""
    return subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "prometheus.log").open("wb"),
    )
