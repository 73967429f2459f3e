"""N loopback HTTP targets served by Debian's nginx: one port, N distinct 127.x addresses, a tiny 200.

Each target is `http://127.1.A.B:PORT/` (B in 1..250), so every probe target is a distinct listening socket
and a distinct destination address. nginx runs from a temp dir (`-p`), one worker, and logs every request
as `$msec $server_addr $status $connection_requests $http_user_agent` (buffered): a count of probes,
their timing per target, and proof that every probe used a fresh connection.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench._net import free_port, port_free_on_all, wait_http

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """\
worker_processes 1;
worker_rlimit_nofile 65536;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 16384; }}
http {{
    log_format bench '$msec $server_addr $status $connection_requests $http_user_agent';
    access_log {dir}/access.log bench buffer=256k flush=1s;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
{listens}
        default_type text/plain;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


def target_addresses(n: int) -> list[str]:
    """`n` distinct loopback addresses 127.1.A.B, B in 1..250 (avoids .0 and .255)."""
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]


class NginxTargets:
    """Context manager: nginx serving `n` targets; `.urls` lists them, `.requests()` reads the access log."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.addresses = target_addresses(n)
        self.dir = Path(tempfile.mkdtemp(prefix="slakit-bench-nginx-"))
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def urls(self) -> list[str]:
        return [f"http://{address}:{self.port}/" for address in self.addresses]

    def start(self) -> NginxTargets:
        for _ in range(20):
            port = free_port()
            if port_free_on_all(self.addresses, port):
                self.port = port
                break
        else:
            raise RuntimeError("no port free on all target addresses")
        (self.dir / "tmp").mkdir()
        listens = "\n".join(f"        listen {address}:{self.port};" for address in self.addresses)
        conf = self.dir / "nginx.conf"
        conf.write_text(CONF.format(dir=self.dir, listens=listens))
        self.proc = subprocess.Popen(
            [NGINX, "-p", f"{self.dir}/", "-c", str(conf), "-e", str(self.dir / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "wb"),  # noqa: SIM115 - lives as long as nginx
        )
        try:
            wait_http(self.urls[0], proc=self.proc)
            wait_http(self.urls[-1], proc=self.proc)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown of master and worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NginxTargets:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requests(self, flush_wait: float = 1.5) -> list[tuple[float, str, int, int, str]]:
        """Every request logged so far: (epoch s, target, status, nth request on its connection, agent)."""
        time.sleep(flush_wait)  # access log is flushed every second
        out: list[tuple[float, str, int, int, str]] = []
        path = self.dir / "access.log"
        if not path.exists():
            return out
        with open(path) as fh:
            for line in fh:
                parts = line.split(maxsplit=4)
                if len(parts) >= 4:
                    agent = parts[4].strip() if len(parts) == 5 else ""
                    out.append((float(parts[0]), parts[1], int(parts[2]), int(parts[3]), agent))
        return out


def count_between(requests: list[tuple[float, str, int, int, str]], start: float, end: float) -> int:
    return sum(1 for t, *_ in requests if start <= t < end)


def window_stats(requests: list[tuple[float, str, int, int, str]], start: float, end: float, agent: str = "") -> dict:
    """Requests in [start, end): how many, how many not 200, how many reused a connection (should be 0).

    `agent` "slakit" counts requests whose User-Agent starts with "slakit", any other value the others
    (blackbox sends Go's default agent), "" counts all.
    """
    inside = [r for r in requests if start <= r[0] < end]
    if agent:
        want = agent == "slakit"
        inside = [r for r in inside if r[4].startswith("slakit") == want]
    return {
        "requests": len(inside),
        "non_200": sum(1 for r in inside if r[2] != 200),
        "reused_connection": sum(1 for r in inside if r[3] > 1),
        "targets": len({r[1] for r in inside}),
    }


def gap_stats(requests: list[tuple[float, str, int, int, str]], start: float, end: float, interval: float) -> dict:
    """Per-target inter-arrival gaps within [start, end) compared with the configured interval.

    A probe that starts late shows as a gap longer than the interval (and the next one shorter), so the
    largest |gap - interval| bounds how late the scheduler fired, as seen from the target.
    """
    by_target: dict[str, list[float]] = defaultdict(list)
    for t, address, *_ in requests:
        if start <= t < end:
            by_target[address].append(t)
    deviations: list[float] = []
    for times in by_target.values():
        times.sort()
        deviations.extend(abs((b - a) - interval) for a, b in itertools.pairwise(times))
    deviations.sort()
    if not deviations:
        return {"gaps": 0}
    return {
        "gaps": len(deviations),
        "targets": len(by_target),
        "p50_ms": 1000 * deviations[len(deviations) // 2],
        "p99_ms": 1000 * deviations[min(len(deviations) - 1, int(len(deviations) * 0.99))],
        "max_ms": 1000 * deviations[-1],
    }
