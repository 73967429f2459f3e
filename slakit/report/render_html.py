"""The report as one self-contained, printable HTML page (Jinja2, inline SVG, no JavaScript)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from slakit.report.build import Report
from slakit.report.figures import local, percent, utc
from slakit.report.svg import COLORS, daily_bars, timeline


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("slakit.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(percent=percent, utc=utc)
    env.globals.update(local=local, daily_bars=daily_bars, timeline=timeline, colors=COLORS)
    return env


def render(report: Report) -> str:
    rejected = {v.window.id: v for r in report.slos for v, _ in r.windows if not v.accepted}
    return environment().get_template("report.html.j2").render(report=report, rejected=list(rejected.values()))
