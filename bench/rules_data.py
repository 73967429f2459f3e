"""Synthetic raw series for `rules_eval`: 1-minute counters, as OpenMetrics for backfill and live over HTTP.

Every series gets one sample per minute, stamped at the minute boundary (as the slakit exporter stamps
`slakit_probe_minutes_total`). Increments are a deterministic function of the minute, so the live server
continues the backfilled counters exactly where the file ended.

* ratio services `bench-rNN`: `slakit_requests_total{code_class=2xx|4xx|5xx}` and
  `slakit_webhook_deliveries_total{result=ok|failed}`; traffic with a daily cycle, ~0.05 % errors, and a few
  incidents (2-20 % errors for 10-40 minutes) per service.
* uptime services `bench-uNN`: `slakit_probe_minutes_total{probe, location=us-east|eu-west, outcome=up|down}`,
  one +1 per minute and location; rare single-location blips and a few outages seen by both locations.
"""

from __future__ import annotations

import math
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMON = 'job="slakit",instance="exporter-1"'
LOCATIONS = ("us-east", "eu-west")


def ratio_service(i: int) -> str:
    return f"bench-r{i:02d}"


def uptime_service(i: int) -> str:
    return f"bench-u{i:02d}"


def series(n_ratio: int, n_uptime: int) -> list[str]:
    """Series identities (`name{labels}`), in the fixed order `increments` returns values in."""
    out = []
    for i in range(n_ratio):
        svc = ratio_service(i)
        for code in ("2xx", "4xx", "5xx"):
            out.append(f'slakit_requests_total{{{COMMON},service="{svc}",code_class="{code}"}}')
        for result in ("ok", "failed"):
            out.append(f'slakit_webhook_deliveries_total{{{COMMON},service="{svc}",result="{result}"}}')
    for i in range(n_uptime):
        svc = uptime_service(i)
        for loc in LOCATIONS:
            for outcome in ("up", "down"):
                out.append(
                    f'slakit_probe_minutes_total{{{COMMON},service="{svc}",probe="{svc}-health",'
                    f'location="{loc}",outcome="{outcome}"}}'
                )
    return out


def _incident(minute: int, salt: int) -> float:
    """Error share during an incident at this minute for one service, else 0 (about 3 incidents a week)."""
    block = minute // 60  # incidents start on an hour, last 10-40 minutes
    rng = random.Random(block * 7919 + salt)
    if rng.random() < 3 / (7 * 24) and minute % 60 < rng.choice((10, 20, 40)):
        return rng.choice((0.02, 0.05, 0.2))
    return 0.0


def increments(minute_ts: int, n_ratio: int, n_uptime: int) -> list[int]:
    """Per-series increments for the minute ending at `minute_ts` (Unix seconds, a multiple of 60)."""
    minute = minute_ts // 60
    rng = random.Random(minute)
    day = 1 + 0.6 * math.sin(2 * math.pi * (minute_ts % 86400) / 86400)
    out: list[int] = []
    for i in range(n_ratio):
        requests = int((300 + 150 * i) * day) + rng.randrange(40)
        share = _incident(minute, 1000 + i)
        errors = int(requests * share) + (1 if rng.random() < 0.3 else 0)
        client = requests // 12
        out += [requests - errors - client, client, errors]
        hooks = requests // 10 + rng.randrange(5)
        failed = int(hooks * share) + (1 if rng.random() < 0.02 else 0)
        out += [hooks - failed, failed]
    for i in range(n_uptime):
        outage = _incident(minute, 5000 + i) > 0
        for _loc in LOCATIONS:
            down = outage or rng.random() < 0.0005
            out += [0, 1] if down else [1, 0]
    return out


def write_openmetrics(path, start: int, end: int, n_ratio: int, n_uptime: int) -> tuple[int, list[int]]:
    """Samples at every minute boundary start..end (inclusive), series by series; returns (samples, final
    counter values)."""
    names = series(n_ratio, n_uptime)
    minutes = list(range(start, end + 1, 60))
    values = [[0] * len(minutes) for _ in names]
    current = [0] * len(names)
    for k, ts in enumerate(minutes):
        for s, inc in enumerate(increments(ts, n_ratio, n_uptime)):
            current[s] += inc
            values[s][k] = current[s]
    with open(path, "w") as fh:
        for s, name in enumerate(names):
            row = values[s]
            fh.write("".join(f"{name} {row[k]} {ts}\n" for k, ts in enumerate(minutes)))
        fh.write("# EOF\n")
    return len(names) * len(minutes), current


class LiveExporter:
    """Serves the counters at the last closed minute, continuing the backfilled file, on 127.0.0.1."""

    def __init__(self, port: int, last_ts: int, values: list[int], n_ratio: int, n_uptime: int):
        self.names = series(n_ratio, n_uptime)
        self.n = (n_ratio, n_uptime)
        self.last_ts = last_ts
        self.values = list(values)
        self.lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def render(self) -> str:
        import time

        now = int(time.time()) // 60 * 60
        with self.lock:
            while self.last_ts < now:
                self.last_ts += 60
                for s, inc in enumerate(increments(self.last_ts, *self.n)):
                    self.values[s] += inc
            ms = self.last_ts * 1000
            return "".join(f"{name} {v} {ms}\n" for name, v in zip(self.names, self.values, strict=True))
