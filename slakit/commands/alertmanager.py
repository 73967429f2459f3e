"""`slakit alertmanager`: the Alertmanager routing for the specs' alerts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slakit.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "alertmanager",
        help="generate the Alertmanager routing for slakit's alerts",
        description="Write an alertmanager.yml: severity page → pager, ticket → ticket, grouped by service and "
        "slo; a page inhibits the tickets of the same service and slo; the watchdog goes to a dead man's switch. "
        "Receivers are webhook placeholders unless --receiver-url sets them.",
    )
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="SLO spec files (YAML)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    parser.add_argument(
        "--receiver-url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="webhook URL of a receiver (pager, ticket, deadmansswitch); repeatable",
    )
    parser.add_argument("--group-wait", default="30s", help="route group_wait (default 30s)")
    parser.add_argument("--group-interval", default="5m", help="route group_interval (default 5m)")
    parser.set_defaults(func=run)


def parse_receiver_urls(items: list[str]) -> dict[str, str]:
    urls = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise InputError(f"--receiver-url {item!r}: expected NAME=http(s)://...")
        urls[name] = url
    return urls


def run(args: argparse.Namespace) -> int:
    from slakit.alertmanager import Timing, build_config, render_config
    from slakit.durations import parse_duration
    from slakit.spec import load_specs

    for flag, value in (("--group-wait", args.group_wait), ("--group-interval", args.group_interval)):
        try:
            parse_duration(value)
        except ValueError as exc:
            raise InputError(f"{flag}: {exc}") from None
    specs = load_specs(args.specs)
    try:
        config = build_config(
            specs,
            parse_receiver_urls(args.receiver_url),
            Timing(group_wait=args.group_wait, group_interval=args.group_interval),
        )
    except ValueError as exc:
        raise InputError(f"--receiver-url: {exc}") from None
    text = render_config(config)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0
