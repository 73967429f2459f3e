"""`slakit rules generate`: Prometheus rules and their promtool tests from SLO specs."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rules", help="generate Prometheus recording and alerting rules")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate",
        help="write rule files (and promtool tests) for SLO specs",
        description="Write one rule file per spec, a shared slakit-meta file with the watchdog alert, and "
        "promtool unit tests next to them. Output is reproducible: the same specs give the same bytes.",
    )
    generate.add_argument("specs", nargs="+", metavar="SPEC", help="SLO spec files (YAML)")
    generate.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    generate.add_argument(
        "--format",
        choices=("prometheus", "operator"),
        default="prometheus",
        help="Prometheus rule files (default) or prometheus-operator PrometheusRule objects",
    )
    generate.add_argument("--no-tests", action="store_true", help="do not write promtool unit tests")
    generate.add_argument(
        "--maintenance", action="append", default=[], metavar="FILE", help="maintenance calendar (planned downtime)"
    )
    generate.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from slakit.rules.files import write_rules
    from slakit.rules.maintenance import apply_calendars
    from slakit.spec import load_specs

    specs = apply_calendars(load_specs(args.specs), args.maintenance)
    written = write_rules(specs, args.output, fmt=args.format, tests=not args.no_tests)
    for path in written:
        print(path)
    return 0
