"""Inline SVG charts for the HTML report: daily uptime bars and a minute timeline (no JavaScript)."""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from html import escape

from slakit.report.compute import SloReport, runs
from slakit.report.figures import percent
from slakit.spec.calendar import zone

COLORS = {"unavailable": "#c62828", "maintenance": "#1565c0", "external": "#6a1b9a", "ledger": "#ef6c00",
          "unknown": "#9e9e9e"}  # fmt: skip
GOOD = "#2e7d32"


def daily_bars(r: SloReport, width: int = 760, height: int = 160) -> str:
    """One bar per local day: its uptime, on a scale from the objective's floor (or lower) to 100 %."""
    days = r.days
    lowest = min(d.uptime for d in days)
    floor = min(Fraction(95, 100), Fraction(math.floor(lowest * 100), 100))
    span = 1 - floor
    bar = width / max(len(days), 1)
    target = r.slo.objective.target
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" role="img" '
             f'aria-label="daily uptime" class="daily">']  # fmt: skip
    for i, d in enumerate(days):
        h = float((d.uptime - floor) / span) * height
        color = GOOD if d.unavailable == 0 else COLORS["unavailable"]
        label = (
            f"{d.day}: {percent(d.uptime)} ({d.unavailable} unavailable, {d.excluded} excluded, {d.unknown} unknown)"
        )
        parts.append(
            f'<rect x="{i * bar + 1:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}" height="{max(h, 0.5):.1f}" '
            f'fill="{color}"><title>{escape(label)}</title></rect>'
        )
        if d.unknown:
            parts.append(f'<rect x="{i * bar + 1:.1f}" y="{height + 2}" width="{bar - 2:.1f}" height="4" '
                         f'fill="{COLORS["unknown"]}"/>')  # fmt: skip
        parts.append(f'<text x="{i * bar + bar / 2:.1f}" y="{height + 17}" font-size="9" text-anchor="middle">'
                     f"{d.day.day}</text>")  # fmt: skip
    if floor < target <= 1:
        y = height - float((target - floor) / span) * height
        parts.append(f'<line x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#000" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="2" y="10" font-size="9">100 %</text><text x="2" y="{height - 2}" font-size="9">'
                 f"{percent(floor, 0)}</text></svg>")  # fmt: skip
    return "".join(parts)


def timeline(r: SloReport, width: int = 760, row: int = 9) -> str:
    """One row per local day, one pixel per two minutes; coloured where a minute was not good."""
    tz = zone(r.spec.calendar.timezone)
    p = r.period
    per_px = 1440 * 60 / (width - 40)
    rows = []
    t = p.start
    for d in r.days:
        rows.append((d.day, t, t + d.minutes * 60))
        t += d.minutes * 60
    height = row * len(rows) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="minute timeline" class="timeline">']  # fmt: skip
    for i, (day, a, b) in enumerate(rows):
        y = i * row + 2
        parts.append(f'<text x="0" y="{y + row - 2}" font-size="8">{day.day}</text>')
        parts.append(f'<rect x="40" y="{y}" width="{(b - a) / per_px:.1f}" height="{row - 2}" fill="#e8f5e9"/>')
    for a, b, cls in runs(r.minute_class):
        for i, (_, s, e) in enumerate(rows):
            lo, hi = max(a, s), min(b, e)
            if lo >= hi:
                continue
            x = 40 + (lo - s) / per_px
            start = datetime.fromtimestamp(lo, tz).strftime("%Y-%m-%d %H:%M %Z")
            title = f"{start}: {(hi - lo) // 60} min {cls}"
            parts.append(
                f'<rect x="{x:.1f}" y="{i * row + 2}" width="{max((hi - lo) / per_px, 1):.1f}" height="{row - 2}" '
                f'fill="{COLORS[cls]}"><title>{escape(title)}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)
