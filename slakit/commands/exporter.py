"""`slakit exporter`: run the probe exporter."""

from __future__ import annotations

import argparse

from slakit.errors import InputError, Problem


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "exporter",
        help="run the probe exporter",
        description="Probe targets on their own schedule and expose minute counters to Prometheus.",
    )
    parser.add_argument("--config.file", dest="config_file", required=True, metavar="FILE", help="exporter config")
    parser.add_argument(
        "--web.listen-address",
        dest="listen_address",
        default="127.0.0.1:9141",
        metavar="HOST:PORT",
        help="address of /metrics and the other endpoints (default 127.0.0.1:9141)",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="log level (default info)",
    )
    parser.set_defaults(func=run)


def parse_listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(
            Problem("--web.listen-address", f"invalid address {value!r}: use HOST:PORT, like 127.0.0.1:9141")
        )
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    host, port = parse_listen_address(args.listen_address)
    from slakit.exporter.main import serve

    return serve(args.config_file, host, port, args.log_level)
