"""The report as JSON: every figure an integer, exact fractions as "n/d" next to display percentages."""

from __future__ import annotations

import json

from slakit.report.build import Report
from slakit.report.compute import SloReport, runs
from slakit.report.figures import fraction, percent, utc


def slo_json(r: SloReport, detail: bool = True) -> dict:
    tz = r.spec.calendar.timezone
    out: dict = {
        "service": r.spec.service,
        "slo": r.slo.name,
        "description": r.slo.description,
        "kind": r.kind,
        "month": str(r.month),
        "timezone": tz,
        "start": utc(r.period.start),
        "end": utc(r.period.end),
        "closed": r.closed,
        "objective": str(r.slo.objective),
        "minutes": r.minutes,
        "meets_objective": r.meets_objective,
    }
    m = r.measured
    if r.kind == "uptime":
        out |= {
            "bad_minutes_measured": sum(1 for c in r.minute_class.values() if c != "unknown"),
            "unavailable_minutes": r.unavailable,
            "excluded_minutes": {**r.excluded, "total": r.excluded_total},
            "unknown_minutes": r.unknown,
            "unknown_minutes_not_excluded": r.unknown_uncovered,
            "uptime": fraction(r.uptime),
            "uptime_percent": percent(r.uptime),
            "worst_case": {
                "uptime": fraction(r.uptime_worst),
                "uptime_percent": percent(r.uptime_worst),
                "meets_objective": r.meets_objective_worst,
                "credits": r.credits_worst,
            },
            "credits": r.credits,
            "maintenance_windows": [
                {
                    "id": v.window.id,
                    "where": v.window.where,
                    "start": utc(v.window.start),
                    "end": utc(v.window.end),
                    "planned_downtime": v.accepted,
                    "reasons": v.reasons,
                    "excluded_minutes": n,
                }
                for v, n in r.windows
            ],
            "ledger_entries": [{**e.as_json(), "excluded_minutes": n} for e, n in r.entries],
        }
    else:
        out |= {
            "error_events": m.bad_events,
            "events": m.total_events,
            "error_rate": fraction(r.bad_fraction),
            "error_rate_percent": percent(r.bad_fraction),
            "unknown_minutes": r.unknown,
        }
    if r.slo.credits is not None and r.slo.credits.termination is not None:
        term = r.slo.credits.termination
        out["rolling_credits"] = {
            "within_days": term.within // 1440,
            "months": [{"month": x.month, "credits": x.credits, "source": x.source} for x in r.rolling],
            "total": r.rolling_credits,
            "complete": r.rolling_complete,
            "termination_right": r.termination_right,
            "credits_above": term.credits_above,
        }
    if r.claim_deadline is not None:
        out["claim_deadline"] = r.claim_deadline.isoformat()
    if detail:
        out["days"] = [
            {"date": d.day.isoformat(), "minutes": d.minutes, "unavailable": d.unavailable, "excluded": d.excluded,
             "unknown": d.unknown, "uptime_percent": percent(d.uptime)}
            for d in r.days
        ]  # fmt: skip
        out["minutes_not_good"] = [
            {"from": utc(a), "to": utc(b), "minutes": (b - a) // 60, "class": c} for a, b, c in runs(r.minute_class)
        ]
    return out


def closed_record(r: SloReport) -> dict:
    """What the store keeps of a closed month: its own figures, not the 90-day view of other months."""
    record = slo_json(r)
    record.pop("rolling_credits", None)
    record.pop("closed", None)
    return record


def report_json(report: Report) -> dict:
    return {
        "month": str(report.month),
        "generated_at": utc(report.generated_at),
        "prometheus": report.prometheus,
        "sources": report.sources,
        "unknown_minutes_policy": "stated figures count unknown minutes as available; worst_case counts them "
        "as unavailable unless a maintenance window, external dependency or ledger entry covers them",
        "slos": [slo_json(r) for r in report.slos],
        "stored": [{"path": p, "version": v, "written": w} for p, v, w in report.stored],
        "support": report.support,
    }


def render(report: Report) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"
