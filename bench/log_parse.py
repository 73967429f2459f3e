"""Log lines parsed per CPU second: the exporter's log-source reader, combined and JSON lines.

One run writes two synthetic access logs (nginx combined, and JSON lines as nginx' `escape=json` writes them,
~200 bytes a line, realistic status mix) and reads each through the exporter's real code path: `Follower`
(pread in `max_line_bytes` chunks, partial-line handling) feeding `parsers.combined` / `parsers.json_lines`.

Baseline, in the same run and on the same file: the same `Follower` feeding a consumer that only splits each
block into lines and visits every line once (`for line in block.split(b"\\n")`) — the least any line-oriented
reader does. A second reference, "split only", splits without visiting lines in Python (C only).

CPU time is `time.process_time()` of this process (the reads hit the page cache: the file is read once before
timing). Rounds alternate baseline and parser; the best (least CPU) of `--rounds` is kept for each.
Goal: parser ≥ 50 % of the baseline's lines per CPU second.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._report import save, table
from slakit.exporter.sources.config import SourceConfig
from slakit.exporter.sources.follower import Follower
from slakit.exporter.sources.parsers import Tally, combined, json_lines

GOAL_RATIO = 0.5
STATUSES = [200] * 80 + [201] * 5 + [204] * 3 + [301, 302, 304] + [400, 401, 404, 404, 429] + [500, 502, 503]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "okhttp/4.12.0", "erp-sync/2.3 (+ops@example.com)"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lines", type=int, default=300_000, help="lines per log file")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per reader (best kept)")


def write_logs(directory: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(7)
    combined_log, json_log = directory / "access.log", directory / "access.json.log"
    with combined_log.open("w") as c, json_log.open("w") as j:
        for i in range(n):
            status, agent = rng.choice(STATUSES), rng.choice(AGENTS)
            ip, size, path = f"10.{i % 7}.{i % 251}.{i % 13}", rng.randint(0, 50_000), f"/api/v1/orders/{i}?expand=1"
            c.write(
                f'{ip} - - [23/Nov/2026:18:14:{i % 60:02d} +0000] "GET {path} HTTP/1.1" {status} {size} '
                f'"https://erp.example.com/ui" "{agent}"\n'
            )
            record = {
                "time": f"2026-11-23T18:14:{i % 60:02d}+00:00",
                "remote_addr": ip,
                "request": f"GET {path} HTTP/1.1",
                "status": str(status),
                "body_bytes_sent": str(size),
                "request_time": "0.012",
                "http_user_agent": agent,
            }
            j.write(json.dumps(record, separators=(",", ":")) + "\n")
    return combined_log, json_log


def split_visit(block: bytes) -> Tally:
    n = 0
    for _line in block.split(b"\n"):
        n += 1
    return Tally(lines=n - 1)


def split_only(block: bytes) -> Tally:
    return Tally(lines=len(block.split(b"\n")) - 1)


def cpu_per_pass(path: Path, consume: Callable[[bytes], Tally]) -> tuple[float, int]:
    """CPU seconds to read the whole file through a Follower into `consume`, and the lines seen."""
    follower = Follower(path, 64 * 1024, "beginning")
    lines = 0
    t0 = time.process_time()
    follower.check()
    while (block := follower.read_block()) is not None:
        if block:
            lines += consume(block).lines
    cpu = time.process_time() - t0
    follower.close()
    return cpu, lines


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="slakit-bench-logs-") as tmp:
        combined_log, json_log = write_logs(Path(tmp), args.lines)
        json_source = SourceConfig.model_validate(
            {"name": "b", "service": "b", "kind": "requests", "path": str(json_log), "format": "json"}
        )
        readers: dict[str, tuple[Path, Callable[[bytes], Tally]]] = {
            "combined: baseline (split + visit lines)": (combined_log, split_visit),
            "combined: split only (C)": (combined_log, split_only),
            "combined: parser": (combined_log, combined),
            "json: baseline (split + visit lines)": (json_log, split_visit),
            "json: split only (C)": (json_log, split_only),
            "json: parser": (json_log, json_lines(json_source)),
        }
        for path in (combined_log, json_log):
            path.read_bytes()  # into the page cache
        best: dict[str, float] = {}
        seen: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, (path, consume) in readers.items():
                cpu, lines = cpu_per_pass(path, consume)
                best[name] = min(best.get(name, cpu), cpu)
                seen[name] = lines
        sizes = {"combined": combined_log.stat().st_size, "json": json_log.stat().st_size}
    rate = {name: seen[name] / best[name] for name in readers}
    results: dict = {"lines": args.lines, "bytes": sizes, "lines_per_cpu_s": rate, "ratios": {}}
    rows: list[tuple] = []
    for fmt in ("combined", "json"):
        assert seen[f"{fmt}: parser"] == seen[f"{fmt}: baseline (split + visit lines)"] == args.lines
        base, parsed = rate[f"{fmt}: baseline (split + visit lines)"], rate[f"{fmt}: parser"]
        ratio = parsed / base
        ratio_c = parsed / rate[f"{fmt}: split only (C)"]
        results["ratios"][fmt] = {"vs_baseline": ratio, "vs_split_only": ratio_c}
        rows += [
            (f"{fmt}: baseline lines/CPU s", round(base)),
            (f"{fmt}: split only lines/CPU s", round(rate[f"{fmt}: split only (C)"])),
            (f"{fmt}: parser lines/CPU s", round(parsed)),
            (f"{fmt}: parser / baseline", ratio, GOAL_RATIO, ratio >= GOAL_RATIO),
            (f"{fmt}: parser / split only", ratio_c),
        ]
    print(table(f"log_parse: {args.lines} lines per format, best of {args.rounds} rounds", rows))
    path = save("log_parse", results)
    print(f"saved {path}")
    return results
