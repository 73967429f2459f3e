"""Results: a small table on stdout and a JSON file in bench/results/ (git-ignored)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unavailable"


def exporter_source() -> dict:
    """Which exporter code was measured: HEAD, and a hash of slakit/exporter/ as it is on disk (the tree
    may hold uncommitted work of the exporter's owner)."""
    root = RESULTS.parent.parent
    digest = hashlib.sha256()
    for path in sorted((root / "slakit" / "exporter").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    dirty = _first_line(["git", "-C", str(root), "status", "--porcelain", "--", "slakit/exporter"])
    return {"sha256_12": digest.hexdigest()[:12], "uncommitted_changes": dirty not in ("", "unavailable")}


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError):
        mem_kib = 0
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "mem_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "nginx": _first_line(["nginx", "-v"]),
        "blackbox_exporter": _first_line(["prometheus-blackbox-exporter", "--version"]),
        "git": _first_line(["git", "-C", str(RESULTS.parent.parent), "rev-parse", "--short", "HEAD"]),
    }


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def table(title: str, rows: list[tuple]) -> str:
    """rows: (name, value[, goal[, met]]) tuples."""
    cells = [[str(c) if i == 0 else fmt(c) for i, c in enumerate(row)] for row in rows]
    header = ["", "value", "goal", "met"][: max(len(r) for r in cells)]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in [*cells, header]) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    return "\n".join(lines)


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS / f"{name}-{stamp}.json"
    data = {
        "benchmark": name,
        "utc": stamp,
        "machine": machine(),
        "exporter_source": exporter_source(),
        **data,
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path
