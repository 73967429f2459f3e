"""Planned downtime as time-based rules: accepted maintenance windows, written into the rules as constants.

No live process is needed: the windows come from the checked maintenance calendar at generation time
(`slakit rules generate --maintenance F`). For each uptime SLO the spec's policy covers:

* `slakit:slo_minutes_planned:1m` is 1 when the minute the 1m group counts (`floor(T) - lag`) lies in an
  accepted window, else 0;
* the SLO's `slakit:slo_events_bad:1m` is multiplied by `1 - planned`, so burn rates, budgets, credits and
  every alert built on them never see planned minutes (the hook in `slakit.rules.sli.uptime_rules`);
* `SlakitPlannedDowntime` (severity `none`) fires while a window is open, for Alertmanager to inhibit the
  service's other alerts (e.g. data-absent) during the window.
"""

from __future__ import annotations

from collections.abc import Iterable

from slakit.rules.model import Rule
from slakit.spec.model import SLO, Spec

PLANNED_1M = "slakit:slo_minutes_planned:1m"


def covered(spec: Spec, slo: SLO) -> bool:
    policy = spec.maintenance
    if not spec.planned_downtime or policy is None or slo.sli.kind != "uptime":
        return False
    return policy.slos is None or slo.name in policy.slos


def _inside(instant: str, windows: Iterable[tuple[int, int]]) -> str:
    terms = [f"({instant} >= bool {start}) * ({instant} < bool {end})" for start, end in windows]
    return "clamp_max(\n  " + "\n  + ".join(terms) + "\n, 1)"


def planned_expr(spec: Spec, lag_seconds: int) -> str:
    """1 when the minute counted at `time()` (its start: `floor(time()) - lag`) is in a window, else 0."""
    return _inside(f"(floor(vector(time()) / 60) * 60 - {lag_seconds})", spec.planned_downtime)


def without_planned(bad: str, spec: Spec, slo: SLO, lag_seconds: int) -> str:
    """The hook: bad minutes of `slo` with planned minutes removed (unchanged when none apply)."""
    if not covered(spec, slo):
        return bad
    return f"(\n  {bad}\n)\n* (1 - {planned_expr(spec, lag_seconds)})"


def planned_rules(spec: Spec, slo: SLO, labels: dict[str, str], lag_seconds: int) -> list[Rule]:
    if not covered(spec, slo):
        return []
    now = _inside("vector(time())", spec.planned_downtime)
    return [
        Rule.recording(PLANNED_1M, planned_expr(spec, lag_seconds), labels),
        Rule.alerting(
            "SlakitPlannedDowntime",
            f"{now} > 0",
            {**labels, "severity": "none"},
            {
                "summary": f"{spec.service}: planned downtime in progress",
                "description": f"An accepted maintenance window of {spec.service} is open: its minutes are "
                f"excluded from the {slo.name} SLO. Inhibit the service's other alerts while this fires.",
            },
        ),
    ]


def apply_calendars(specs: list[Spec], paths: list[str]) -> list[Spec]:
    """Specs carrying the accepted windows of the calendars (rejected windows are reported, not applied)."""
    if not paths:
        return specs
    from slakit.contract.calendar import load_calendar
    from slakit.contract.policy import check_windows

    windows = [w for path in paths for w in load_calendar(path)]
    verdicts = check_windows(windows, specs)
    out = []
    for spec in specs:
        accepted = sorted(
            (v.window.start, v.window.end) for v in verdicts if v.accepted and v.window.service == spec.service
        )
        out.append(spec.model_copy(update={"planned_downtime": tuple(accepted)}))
    return out
