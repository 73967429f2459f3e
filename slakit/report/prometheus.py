"""A minimal Prometheus HTTP API client (instant and range queries) with a bounded response size."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from slakit.errors import InputError, Problem

MAX_BODY = 512 * 1024 * 1024
MAX_POINTS = 11_000  # Prometheus refuses range queries of more points per series


class PrometheusError(InputError):
    pass


@dataclass
class Prometheus:
    url: str
    timeout: float = 120.0

    def _post(self, path: str, params: dict[str, str]) -> list[dict]:
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                body = resp.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(4096).decode("utf-8", "replace")
            raise PrometheusError(Problem(self.url, f"{path}: HTTP {exc.code}: {detail[:500]}")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise PrometheusError(Problem(self.url, f"cannot query Prometheus: {exc}")) from None
        if len(body) > MAX_BODY:
            raise PrometheusError(Problem(self.url, f"{path}: response larger than {MAX_BODY} bytes"))
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise PrometheusError(Problem(self.url, f"{path}: {doc.get('error', doc)}"))
        return doc["data"]["result"]

    def version(self) -> tuple[int, ...]:
        request = urllib.request.Request(self.url.rstrip("/") + "/api/v1/status/buildinfo")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                doc = json.loads(resp.read(1 << 20))
            return tuple(int(x) for x in doc["data"]["version"].split("+")[0].split("-")[0].split(".")[:2])
        except (OSError, ValueError, KeyError):
            return (2, 0)  # unknown: assume 2.x range semantics

    def minute_range(self) -> str:
        """A range that holds exactly the samples stamped in [m, m + 60 s) when evaluated at m + 59.999 s.

        Prometheus 2.x ranges include their left edge, 3.x ranges do not.
        """
        return "[59999ms]" if self.version() < (3, 0) else "[1m]"

    def query(self, expr: str, at: float) -> list[dict]:
        return self._post("/api/v1/query", {"query": expr, "time": _t(at)})

    def query_range(self, expr: str, start: float, end: float, step: int = 60) -> list[dict]:
        """Points of `expr` at start, start+step, … ≤ end, split into requests Prometheus accepts (run two
        at a time: Prometheus evaluates one query on one core)."""
        from concurrent.futures import ThreadPoolExecutor

        spans = []
        t = start
        while t <= end:
            last = min(end, t + step * (MAX_POINTS - 1))
            spans.append((t, last))
            t = last + step
        params = [{"query": expr, "start": _t(a), "end": _t(b), "step": str(step)} for a, b in spans]
        with ThreadPoolExecutor(2) as pool:
            parts = list(pool.map(lambda p: self._post("/api/v1/query_range", p), params))
        series: dict[tuple, dict] = {}
        for part in parts:
            for item in part:
                key = tuple(sorted(item["metric"].items()))
                series.setdefault(key, {"metric": item["metric"], "values": []})["values"] += item["values"]
        return list(series.values())


def _t(seconds: float) -> str:
    return f"{seconds:.3f}"
