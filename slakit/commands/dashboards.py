"""`slakit dashboards generate`: Grafana dashboards and provisioning files from SLO specs."""

from __future__ import annotations

import argparse

from slakit.dashboards.files import DEFAULT_DASHBOARDS_PATH, DEFAULT_PROMETHEUS_URL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dashboards", help="generate Grafana dashboards")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate",
        help="write an overview and one dashboard per service",
        description="Write Grafana dashboard JSON (an overview of every SLO and one detail dashboard per "
        "service) built on the recorded series of `slakit rules generate`. Output is reproducible.",
    )
    generate.add_argument("specs", nargs="+", metavar="SPEC", help="SLO spec files (YAML)")
    generate.add_argument("-o", "--output", required=True, metavar="DIR", help="dashboard output directory")
    generate.add_argument(
        "--provisioning", metavar="DIR", help="also write Grafana provisioning files (dashboards/, datasources/)"
    )
    generate.add_argument(
        "--dashboards-path",
        default=DEFAULT_DASHBOARDS_PATH,
        metavar="PATH",
        help=f"where Grafana reads the dashboards, for the provisioning file (default {DEFAULT_DASHBOARDS_PATH})",
    )
    generate.add_argument(
        "--prometheus-url",
        default=DEFAULT_PROMETHEUS_URL,
        metavar="URL",
        help=f"URL of the provisioned Prometheus data source (default {DEFAULT_PROMETHEUS_URL})",
    )
    generate.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from slakit.dashboards.files import write_dashboards
    from slakit.spec import load_specs

    specs = load_specs(args.specs)
    written = write_dashboards(specs, args.output, args.provisioning, args.dashboards_path, args.prometheus_url)
    for path in written:
        print(path)
    return 0
