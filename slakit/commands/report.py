"""`slakit report`: the monthly SLA report (Markdown, JSON or HTML) from a Prometheus server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slakit.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="monthly SLA report: minutes, exclusions, uptime, credits",
        description="The monthly SLA report of calendar-month SLOs, computed from the per-minute series the "
        "slakit rules record (docs/report.md).",
    )
    parser.add_argument("--prometheus", required=True, metavar="URL", help="Prometheus base URL")
    parser.add_argument("--spec", action="append", required=True, metavar="SPEC", help="SLO spec file (repeat)")
    parser.add_argument("--month", required=True, metavar="YYYY-MM", help="calendar month in each spec's zone")
    parser.add_argument("--format", choices=("md", "json", "html"), default="md")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    parser.add_argument("--maintenance", action="append", default=[], metavar="FILE", help="maintenance calendar")
    parser.add_argument("--exclusions", action="append", default=[], metavar="FILE", help="exclusions ledger")
    parser.add_argument(
        "--tickets",
        metavar="STATE_DIR",
        help="the exporter's state_dir: adds the support section of specs with `support:` (read from a copy)",
    )
    parser.add_argument("--store", metavar="DIR", help="closed months: read for the 90-day rule, closed months written")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from slakit.report.build import build_report
    from slakit.spec import load_specs
    from slakit.spec.calendar import Month

    try:
        month = Month.parse(args.month)
    except ValueError as exc:
        raise InputError(f"--month: {exc}") from None
    specs = load_specs(args.spec)
    report = build_report(args.prometheus, specs, month, args.maintenance, args.exclusions, args.store)
    if args.tickets:
        from slakit.report.support import support_sections

        report.support = support_sections(specs, args.tickets, month)
    if args.format == "json":
        from slakit.report.render_json import render
    elif args.format == "html":
        from slakit.report.render_html import render
    else:
        from slakit.report.render_md import render
    text = render(report)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
