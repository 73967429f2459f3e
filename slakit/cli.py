"""The `slakit` command line: one sub-command per job, exit code 2 on bad input."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from slakit import __version__
from slakit.errors import InputError

# Each module defines `register(subparsers)`; heavy imports happen inside the command itself.
COMMAND_MODULES = ("exporter", "rules", "alertmanager", "dashboards", "report", "check", "demo")


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slakit",
        description="Turn SLA contracts into Prometheus monitoring.",
    )
    parser.add_argument("--version", action="version", version=f"slakit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        importlib.import_module(f"slakit.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, commands: Sequence[str] = COMMAND_MODULES) -> int:
    """Run one sub-command; `commands` limits which ones are imported (see `python -m slakit.exporter`)."""
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        for problem in exc.problems:
            print(f"slakit {args.command}: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
