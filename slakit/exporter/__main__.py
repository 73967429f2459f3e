"""`python -m slakit.exporter ARGS` = `slakit exporter ARGS`, without importing the other sub-commands."""

from __future__ import annotations

import argparse
import sys

from slakit.commands import exporter
from slakit.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slakit")
    exporter.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["exporter", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        for problem in exc.problems:
            print(f"slakit exporter: error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
