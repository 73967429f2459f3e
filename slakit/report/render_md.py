"""The report as Markdown: one section per SLO, every figure traceable to minutes."""

from __future__ import annotations

from slakit.report.build import Report
from slakit.report.compute import SloReport
from slakit.report.figures import local, percent, utc


def render(report: Report) -> str:
    lines = [
        f"# SLA report {report.month}",
        "",
        f"Generated {utc(report.generated_at)} from {report.prometheus}. Unknown minutes (no location reported "
        "them, or no data) count as available in the stated figures and as unavailable in the worst case, "
        "unless planned downtime, an external dependency or a ledger entry covers them.",
        "",
    ]
    for r in report.slos:
        lines += _slo(r)
    for section in report.support:
        lines += _support(section)
    rejected = {v.window.id: v for r in report.slos for v, _ in r.windows if not v.accepted}.values()
    if rejected:
        lines += ["## Maintenance windows that are not planned downtime", ""]
        lines += [f"* `{v.window.id}` ({v.window.where}): {'; '.join(v.reasons)}" for v in rejected]
        lines.append("")
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _slo(r: SloReport) -> list[str]:
    tz = r.spec.calendar.timezone
    state = "closed" if r.closed else "month to date (not closed)"
    out = [
        f"## {r.spec.service} / {r.slo.name}",
        "",
        f"{r.slo.description or r.spec.description}. Objective: {r.slo.objective}. Month {r.month} in {tz}: "
        f"{local(r.period.start, tz)} to {local(r.period.end, tz)}, {r.minutes} minutes, {state}.",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    if r.kind == "uptime":
        out += [
            f"| minutes in the month | {r.minutes} |",
            f"| unavailable minutes | {r.unavailable} |",
            f"| excluded: planned downtime | {r.excluded['maintenance']} |",
            f"| excluded: external services | {r.excluded['external']} |",
            f"| excluded: exclusions ledger | {r.excluded['ledger']} |",
            f"| unknown minutes | {r.unknown} |",
            f"| **monthly uptime** | **{percent(r.uptime)}** |",
            f"| meets objective ({r.slo.objective}) | {_yes(r.meets_objective)} |",
            f"| worst case (unknown as unavailable) | {percent(r.uptime_worst)}, objective "
            f"{'met' if r.meets_objective_worst else 'missed'}, {r.credits_worst} credits |",
        ]
        if r.slo.credits is not None:
            out.append(f"| **service credits** | **{r.credits}** |")
    else:
        m = r.measured
        out += [
            f"| events | {m.total_events} |",
            f"| error events | {m.bad_events} |",
            f"| **error rate** | **{percent(r.bad_fraction)}** |",
            f"| meets objective ({r.slo.objective}) | {_yes(r.meets_objective)} |",
            f"| minutes without data | {r.unknown} |",
        ]
    if r.rolling:
        months = ", ".join(f"{x.month}: {'?' if x.credits is None else x.credits} ({x.source})" for x in r.rolling)
        term = r.slo.credits.termination
        note = "" if r.rolling_complete else " (incomplete: months missing from the store)"
        out += [
            f"| credits in {term.within // 1440} days | {r.rolling_credits}{note} — {months} |",
            f"| termination right (more than {term.credits_above}) | {_yes(r.termination_right)} |",
        ]
    if r.claim_deadline is not None:
        out.append(f"| credit claims due by | {r.claim_deadline.isoformat()} (end of day, {tz}) |")
    out.append("")
    if r.windows:
        out += ["Maintenance windows:", ""]
        for v, n in r.windows:
            verdict = (
                f"planned downtime, {n} minutes excluded"
                if v.accepted
                else "NOT planned downtime: " + "; ".join(v.reasons)
            )
            out.append(f"* `{v.window.id}` {local(v.window.start, tz)} – {local(v.window.end, tz)}: {verdict}")
        out.append("")
    if r.entries:
        out += ["Exclusions ledger:", ""]
        for e, n in r.entries:
            out.append(
                f"* `{e.id}` {local(e.start, tz)} – {local(e.end, tz)}, clause {e.clause}: {e.reason} "
                f"(recorded by {e.recorded_by} {utc(e.recorded_at)}): {n} minutes excluded"
            )
        out.append("")
    return out


def _support(section: dict) -> list[str]:
    out = [
        f"## Support: {section['service']}",
        "",
        "Tickets whose first response or resolution was decided this month (met: at or before the deadline "
        "in support hours / working days; docs/support.md).",
        "",
        "| priority | target | met | breached | share met |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for priority, targets in section["tickets"].items():
        for target, c in targets.items():
            share = "-" if c["share_met"] is None else f"{c['share_met']:.1%}"
            out.append(f"| {priority} | {target} | {c['met']} | {c['breached']} | {share} |")
    out.append("")
    for target, rows in section["worst"].items():
        if rows:
            out.append(f"Worst {target} times: " + ", ".join(
                f"`{r['ticket']}` ({r['priority']}, {r['outcome']}, {r['share_used']:.0%} of the allowance)"
                if r["share_used"] is not None else f"`{r['ticket']}` ({r['priority']}, {r['outcome']})"
                for r in rows
            ) + ".")  # fmt: skip
    if section["overdue_at_month_end"]:
        out.append("Open and overdue at the end of the month (counted as breached when answered or resolved): "
                   + ", ".join(f"`{r['ticket']}` {r['target']} due {r['due']}" for r in section["overdue_at_month_end"])
                   + ".")  # fmt: skip
    out.append("")
    return out
