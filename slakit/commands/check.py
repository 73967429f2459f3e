"""`slakit check`: validate specs and exporter configs without running anything."""

from __future__ import annotations

import argparse
import json

from slakit.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate SLO specs and exporter configs",
        description="Validate SLO specs and/or an exporter config. Exit code 2 names every problem found.",
    )
    parser.add_argument("specs", nargs="*", metavar="SPEC", help="SLO spec files (YAML)")
    parser.add_argument(
        "--exporter-config", action="append", default=[], metavar="FILE", help="exporter config to validate"
    )
    parser.add_argument(
        "--maintenance", action="append", default=[], metavar="FILE", help="maintenance calendar (.yaml or .ics)"
    )
    parser.add_argument("--exclusions", action="append", default=[], metavar="FILE", help="exclusions ledger (YAML)")
    parser.add_argument(
        "--print-schema",
        choices=("spec", "exporter-config"),
        help="print the JSON Schema of a file format and exit (published in docs/schemas/)",
    )
    parser.set_defaults(func=run)


def print_schema(kind: str) -> int:
    if kind == "spec":
        from slakit.spec import json_schema
    else:
        from slakit.exporter.config import json_schema
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.print_schema:
        return print_schema(args.print_schema)
    if not args.specs and not args.exporter_config:
        raise InputError("nothing to check: give SPEC files and/or --exporter-config FILE")
    errors: list[InputError] = []
    checked: list[str] = []
    specs = []
    if args.specs:
        from slakit.spec import load_specs

        try:
            specs = load_specs(args.specs)
            checked.extend(args.specs)
        except InputError as exc:
            errors.append(exc)
    if args.maintenance or args.exclusions:
        from slakit.contract.check import check_files

        passed, failed = check_files(specs, args.maintenance, args.exclusions, bool(args.specs))
        checked.extend(passed)
        errors.extend(failed)
    for path in args.exporter_config:
        from slakit.exporter.config import load_config

        try:
            load_config(path)
            checked.append(path)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputError.merge(errors)
    for path in checked:
        print(f"{path}: ok")
    return 0
