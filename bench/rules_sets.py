"""The two rule sets `rules_eval` compares, and the level-by-level backfill plan.

* slakit: specs written here, rules from `python -m slakit rules generate`.
* Sloth-structured: what Sloth (github.com/slok/sloth) generates for the same SLIs, written from its documented
  output structure (not its code): per SLO a `sloth-slo-sli-recordings-*` group with
  `slo:sli_error:ratio_rate{5m,30m,1h,2h,6h,1d,3d}` = `sum(rate(errors[W])) / sum(rate(total[W]))` on the raw
  counters and `slo:sli_error:ratio_rate30d` = `sum_over_time(5m ratio[30d]) / count_over_time(...)`; a
  `sloth-slo-meta-recordings-*` group with its 7 metadata rules; a `sloth-slo-alerts-*` group with the page
  (5m&1h ×14.4 or 30m&6h ×6) and ticket (2h&1d ×3 or 6h&3d ×1) alerts. No group interval (Sloth sets none):
  the global evaluation interval, 1m in production.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from bench.rules_data import ratio_service, uptime_service

SPEC_HEADER = """version: 1
service: {service}
calendar:
  timezone: America/New_York
  table_start: "2026-01"
  table_months: 24
slos:
"""

RATIO_SLO = """  - name: errors
    objective:
      bad: "<= 0.1%"
    period:
      calendar: month
    sli:
      ratio:
        errors:
          - slakit_requests_total{{service="{service}",code_class="5xx"}}
          - slakit_webhook_deliveries_total{{service="{service}",result="failed"}}
        total:
          - slakit_requests_total{{service="{service}"}}
          - slakit_webhook_deliveries_total{{service="{service}"}}
        min_events: 100
"""

UPTIME_SLO = """  - name: uptime
    objective:
      good: "> 99%"
    period:
      calendar: month
    sli:
      uptime:
        probes: [{service}-health]
        quorum: 1
"""


def write_specs(directory: Path, n_ratio: int, n_uptime: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_ratio):
        svc = ratio_service(i)
        path = directory / f"{svc}.yaml"
        path.write_text(SPEC_HEADER.format(service=svc) + RATIO_SLO.format(service=svc))
        paths.append(path)
    for i in range(n_uptime):
        svc = uptime_service(i)
        path = directory / f"{svc}.yaml"
        path.write_text(SPEC_HEADER.format(service=svc) + UPTIME_SLO.format(service=svc))
        paths.append(path)
    return paths


def slakit_rules(specs: list[Path], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "slakit", "rules", "generate", *map(str, specs), "-o", str(out)]
    subprocess.run(cmd, check=True, cwd=root, capture_output=True, text=True)
    return sorted(out.glob("*.rules.yml"))


# --- Sloth structure -------------------------------------------------------------------------------

SLOTH_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def _sloth_sli(kind: str, svc: str) -> tuple[str, str]:
    """Sloth's error_query and total_query with `{W}` for the window, as a user would write them."""
    if kind == "ratio":
        errors = (
            f'sum(rate(slakit_requests_total{{service="{svc}",code_class="5xx"}}[{{W}}]))'
            f' + sum(rate(slakit_webhook_deliveries_total{{service="{svc}",result="failed"}}[{{W}}]))'
        )
        total = (
            f'sum(rate(slakit_requests_total{{service="{svc}"}}[{{W}}]))'
            f' + sum(rate(slakit_webhook_deliveries_total{{service="{svc}"}}[{{W}}]))'
        )
    else:
        probe = f'slakit_probe_minutes_total{{service="{svc}",probe="{svc}-health"'
        errors = f'sum(rate({probe},outcome="down"}}[{{W}}]))'
        total = f'sum(rate({probe},outcome=~"up|down"}}[{{W}}]))'
    return errors, total


def sloth_groups(kind: str, svc: str, slo: str, objective: float) -> list[dict]:
    sid = f"{svc}-{slo}"
    ids = {"sloth_id": sid, "sloth_service": svc, "sloth_slo": slo}
    sel = f'{{sloth_id="{sid}", sloth_service="{svc}", sloth_slo="{slo}"}}'
    errors, total = _sloth_sli(kind, svc)
    sli = []
    for w in SLOTH_WINDOWS:
        expr = f"({errors.replace('{W}', w)})\n/\n({total.replace('{W}', w)})"
        sli.append({"record": f"slo:sli_error:ratio_rate{w}", "expr": expr, "labels": {**ids, "sloth_window": w}})
    sli.append(
        {
            "record": "slo:sli_error:ratio_rate30d",
            "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[30d])\n/ ignoring (sloth_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{sel}[30d])",
            "labels": {"sloth_window": "30d"},
        }
    )
    budget = round(1 - objective, 10)
    on = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    meta = [
        {"record": "slo:objective:ratio", "expr": f"vector({objective})", "labels": ids},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{objective})", "labels": ids},
        {"record": "slo:time_period:days", "expr": "vector(30)", "labels": ids},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{sel}\n{on}slo:error_budget:ratio{sel}",
            "labels": ids,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate30d{sel}\n{on}slo:error_budget:ratio{sel}",
            "labels": ids,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{sel}",
            "labels": ids,
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {**ids, "sloth_mode": "cli-gen-prom", "sloth_spec": "prometheus/v1", "sloth_version": "bench"},
        },
    ]

    def pair(short: str, long: str, factor: float) -> str:
        return (
            f"(\n    (slo:sli_error:ratio_rate{short}{sel} > ({factor} * {budget}))\n    and ignoring (sloth_window)\n"
            f"    (slo:sli_error:ratio_rate{long}{sel} > ({factor} * {budget}))\n)"
        )

    alerts = [
        {
            "alert": "SlothErrorBudgetBurn",
            "expr": f"{pair('5m', '1h', 14.4)}\nor ignoring (sloth_window)\n{pair('30m', '6h', 6)}",
            "labels": {"sloth_severity": "page", "severity": "page"},
            "annotations": {"summary": f"{svc} {slo} error budget burn rate is too fast (page)"},
        },
        {
            "alert": "SlothErrorBudgetBurn",
            "expr": f"{pair('2h', '1d', 3)}\nor ignoring (sloth_window)\n{pair('6h', '3d', 1)}",
            "labels": {"sloth_severity": "ticket", "severity": "ticket"},
            "annotations": {"summary": f"{svc} {slo} error budget burn rate is too fast (ticket)"},
        },
    ]
    return [
        {"name": f"sloth-slo-sli-recordings-{sid}", "rules": sli},
        {"name": f"sloth-slo-meta-recordings-{sid}", "rules": meta},
        {"name": f"sloth-slo-alerts-{sid}", "rules": alerts},
    ]


def sloth_rules(out: Path, n_ratio: int, n_uptime: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, n, name, slo, objective in (
        ("ratio", n_ratio, ratio_service, "errors", 0.999),
        ("uptime", n_uptime, uptime_service, "uptime", 0.99),
    ):
        for i in range(n):
            svc = name(i)
            path = out / f"sloth-{svc}.rules.yml"
            path.write_text(yaml.safe_dump({"groups": sloth_groups(kind, svc, slo, objective)}, sort_keys=False))
            paths.append(path)
    return paths


# --- reading rule files, levels ------------------------------------------------------------------------

DURATION = re.compile(r"(\d+)([smhdwy])")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text: str) -> int:
    return sum(int(n) * UNITS[u] for n, u in DURATION.findall(text))


def load_groups(paths: list[Path]) -> list[dict]:
    groups = []
    for path in paths:
        for group in yaml.safe_load(path.read_text())["groups"]:
            groups.append(group)
    return groups


def production_interval(group: dict, default: int = 60) -> int:
    return seconds(group["interval"]) if "interval" in group else default


def backfill_levels(groups: list[dict]) -> list[list[dict]]:
    """Groups per backfill level, holding only the recording rules whose history steady-state evaluation
    reads: every series some rule reads over a range (`name{...}[..]`), and what those series are computed
    from. Series read only at the evaluation instant need no history (the warm-up records them)."""
    recorded = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    token = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    deps: dict[str, set[str]] = {name: set() for name in recorded}
    ranged: set[str] = set()
    for g in groups:
        for r in g["rules"]:
            expr = r["expr"]
            for name in recorded:
                if re.search(re.escape(name) + r"(\{[^}]*\})?\[", expr):
                    ranged.add(name)
            if "record" in r:
                deps[r["record"]] |= {t for t in token.findall(expr) if t in recorded and t != r["record"]}
    needed: set[str] = set()
    frontier = list(ranged)
    while frontier:
        name = frontier.pop()
        if name not in needed:
            needed.add(name)
            frontier += deps[name]
    level: dict[str, int] = {}

    def level_of(name: str) -> int:
        if name not in level:
            level[name] = 1 + max((level_of(d) for d in deps[name]), default=-1)
        return level[name]

    out: list[list[dict]] = []
    for g in groups:
        for r in g["rules"]:
            if r.get("record") in needed:
                lv = level_of(r["record"])
                while len(out) <= lv:
                    out.append([])
                bucket = out[lv]
                if not bucket or bucket[-1]["name"] != g["name"]:
                    bucket.append({k: v for k, v in g.items() if k != "rules"} | {"rules": []})
                bucket[-1]["rules"].append(r)
    return out


def accelerated(groups: list[dict], speedup: int, default: int = 60) -> list[dict]:
    """The same groups, every interval divided by `speedup` (a 1m group runs every 60/speedup s)."""
    out = []
    for g in groups:
        interval = production_interval(g, default)
        out.append({**g, "interval": f"{interval * 1000 // speedup}ms"})
    return out
