"""`python -m bench [NAME [OPTIONS]] ...`: run all benchmarks, or the named ones with their own options.

    python -m bench                                   # all, default parameters
    python -m bench exporter_cpu                      # one
    python -m bench exporter_cpu --window 30 exporter_scale --targets 500
    python -m bench exporter_scale --help             # a benchmark's options

Each prints a table and writes JSON to bench/results/. Exit code 1 when a benchmark fails to run (a goal not
met is a result, not a failure).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

BENCHMARKS = {
    "exporter_cpu": "CPU s per 1000 probes, slakit exporter vs prometheus-blackbox-exporter (1000 targets)",
    "exporter_scale": "slakit exporter at 2000 probes: /metrics p99, event-loop lag, RSS",
    "log_parse": "log lines parsed per CPU second (combined, JSON lines) vs a read-and-split baseline",
    "rules_eval": "Prometheus CPU s per minute of rule evaluation, slakit vs Sloth-structured rules (22 SLOs, 31 d)",
    "report": "a month's SLA report for 1000 SLOs from a real Prometheus (goal < 10 s)",
}


def split(argv: list[str]) -> list[tuple[str, list[str]]]:
    groups: list[tuple[str, list[str]]] = []
    for token in argv:
        if token in BENCHMARKS:
            groups.append((token, []))
        elif groups:
            groups[-1][1].append(token)
        elif token in ("-h", "--help", "--list"):
            print(__doc__)
            for name, what in BENCHMARKS.items():
                print(f"  {name:16} {what}")
            raise SystemExit(0)
        else:
            raise SystemExit(f"bench: unknown benchmark {token!r}; choose from {', '.join(BENCHMARKS)}")
    return groups or [(name, []) for name in BENCHMARKS]


def main(argv: list[str] | None = None) -> int:
    failed = []
    for name, options in split(sys.argv[1:] if argv is None else argv):
        module = importlib.import_module(f"bench.{name}")
        parser = argparse.ArgumentParser(
            prog=f"python -m bench {name}",
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(parser)
        args = parser.parse_args(options)
        print(f"== {name} ({time.strftime('%H:%M:%S')})", flush=True)
        t0 = time.monotonic()
        try:
            module.run(args)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name} done in {time.monotonic() - t0:.0f}s", flush=True)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
