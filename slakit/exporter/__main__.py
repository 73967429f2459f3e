"""`python -m slakit.exporter ARGS` = `slakit exporter ARGS`, without importing the other sub-commands."""

from __future__ import annotations

import sys

from slakit.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["exporter", *sys.argv[1:]], commands=("exporter",)))
