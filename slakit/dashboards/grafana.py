"""Grafana dashboard JSON (schemaVersion 39) as plain data: panels, targets, variables, layout.

Every query goes through the `datasource` template variable, so the dashboards work with whichever
Prometheus data source the Grafana user picks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 39  # Grafana 10.3 / 11.x; newer Grafana migrates it on load
GRID_WIDTH = 24
UID_MAX = 40  # Grafana's limit on dashboard uids
DATASOURCE_VAR = "datasource"
DATASOURCE = {"type": "prometheus", "uid": "${" + DATASOURCE_VAR + "}"}

Json = dict[str, Any]


def dashboard_uid(name: str) -> str:
    """`slakit-<name>`, stable; names too long for Grafana keep a prefix and a hash of the whole."""
    uid = f"slakit-{name}"
    if len(uid) <= UID_MAX:
        return uid
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{uid[: UID_MAX - 9]}-{digest}"


def target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> Json:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "refId": ref,
    }


def targets(queries: list[tuple[str, str]], *, instant: bool = False) -> list[Json]:
    """(expr, legend) pairs as targets A, B, C…"""
    return [target(e, legend, instant=instant, ref=chr(ord("A") + i)) for i, (e, legend) in enumerate(queries)]


def thresholds(*steps: tuple[float | None, str]) -> Json:
    """Absolute threshold steps; the first step's value is None (base colour)."""
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


def stat(
    title: str,
    expr: str,
    *,
    unit: str = "short",
    decimals: int | None = None,
    steps: Json | None = None,
    description: str = "",
    mappings: list[Json] | None = None,
    w: int = 3,
    h: int = 4,
) -> Json:
    defaults: Json = {
        "color": {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": steps or thresholds((None, "text")),
        "unit": unit,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [target(expr, instant=True)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": "value",
            "wideLayout": True,
        },
        "gridPos": {"h": h, "w": w},
    }


def timeseries(
    title: str,
    queries: list[tuple[str, str]],
    *,
    unit: str = "short",
    description: str = "",
    steps: Json | None = None,
    draw: str = "line",
    min_value: float | None = None,
    w: int = 12,
    h: int = 8,
) -> Json:
    """A time series panel; `steps` with `draw` threshold lines (burn-rate factors, targets)."""
    custom: Json = {
        "drawStyle": "bars" if draw == "bars" else "line",
        "fillOpacity": 60 if draw == "bars" else 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if draw == "bars" else "none"},
        "thresholdsStyle": {"mode": "line" if steps else "off"},
    }
    defaults: Json = {
        "color": {"mode": "palette-classic"},
        "custom": custom,
        "mappings": [],
        "thresholds": steps or thresholds((None, "green")),
        "unit": unit,
    }
    if min_value is not None:
        defaults["min"] = min_value
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets(queries),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        "gridPos": {"h": h, "w": w},
    }


def row(title: str) -> Json:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"h": 1, "w": GRID_WIDTH}}


@dataclass
class Layout:
    """Places panels left to right, wrapping at the grid width; a row starts a new line. Assigns ids."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def add(self, panel: Json) -> None:
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if not 0 < w <= GRID_WIDTH or h <= 0:
            raise ValueError(f"panel {panel['title']!r}: invalid size {w}x{h}")
        if panel["type"] == "row" or self.x + w > GRID_WIDTH:
            self.newline()
        panel = {**panel, "id": len(self.panels) + 1, "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y}}
        self.panels.append(panel)
        self.x += w
        self.line_height = max(self.line_height, h)
        if panel["type"] == "row":
            self.newline()

    def newline(self) -> None:
        self.y += self.line_height
        self.x = self.line_height = 0


def datasource_variable() -> Json:
    return {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": DATASOURCE_VAR,
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }


def prometheus_annotation(name: str, expr: str, color: str, title: str, text: str) -> Json:
    """An annotation query: each run of samples of `expr` becomes one region on every time series panel."""
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": expr,
        "hide": False,
        "iconColor": color,
        "name": name,
        "step": "1m",
        "tagKeys": "service",
        "textFormat": text,
        "titleFormat": title,
        "useValueForTime": False,
    }


def builtin_annotation() -> Json:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    tags: list[str],
    panels: list[Json],
    timezone: str,
    time_from: str,
    time_to: str,
    annotations: list[Json] = (),
) -> Json:
    return {
        "annotations": {"list": [builtin_annotation(), *annotations]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["slakit"],
                "targetBlank": False,
                "title": "slakit dashboards",
                "type": "dashboards",
            }
        ],
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": tags,
        "templating": {"list": [datasource_variable()]},
        "time": {"from": time_from, "to": time_to},
        "timepicker": {},
        "timezone": timezone,
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
