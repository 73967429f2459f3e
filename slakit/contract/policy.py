"""Which announced windows are Planned Downtime under a spec's maintenance policy.

Rules (Employee Records SLA, "Planned Downtime"), each window checked on its own first:

* outside business hours: the window [start, end) must not overlap any business-hours interval
  [day start, day end) of a working day in the policy's zone; a public holiday is not a working day, so it
  is open for maintenance. Touching 09:00 or 17:00 exactly is not overlapping.
* notice: announced at least `notice` before the start (exactly 48 h is enough).

Then, per service in order of start (file order on ties), the instance limit: a window is rejected when
`max_instances` accepted windows already started in the `within` (30 × 24 h) before its start, i.e. in
(start - 30d, start]. So any rolling 30 × 24 h period holds at most 5 accepted starts; the later window is
the one rejected, and rejected windows (for any reason) are not Planned Downtime and do not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

from slakit.contract.calendar import Window
from slakit.contract.contract_specs import policy_of
from slakit.durations import format_duration
from slakit.spec.calendar import zone
from slakit.spec.contract import WEEKDAYS, BusinessHours, MaintenancePolicy
from slakit.spec.model import Spec


@dataclass
class Verdict:
    window: Window
    reasons: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.reasons


@cache
def _holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=year))


def is_working_day(day: date, hours: BusinessHours) -> bool:
    if WEEKDAYS[day.weekday()] not in hours.days:
        return False
    return not (hours.holidays and day in _holidays(hours.holidays, day.year))


def business_intervals(start: int, end: int, hours: BusinessHours) -> list[tuple[int, int, date]]:
    """Business-hours intervals [from, to) in Unix seconds that overlap [start, end)."""
    tz = zone(hours.timezone)
    first = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, tz).date()
    out = []
    day = first
    while day <= last:
        if is_working_day(day, hours):
            b0 = int(datetime.combine(day, hours.start, tz).timestamp())
            b1 = int(datetime.combine(day, hours.end, tz).timestamp())
            if start < b1 and end > b0:
                out.append((b0, b1, day))
        day += timedelta(days=1)
    return out


def hours_minutes(seconds: int) -> str:
    """`47h59m`: durations of notice read best in hours."""
    hours, rest = divmod(seconds // 60, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


def _local(seconds: int, tz_name: str) -> str:
    return datetime.fromtimestamp(seconds, zone(tz_name)).strftime("%a %Y-%m-%d %H:%M %Z")


def window_reasons(window: Window, policy: MaintenancePolicy) -> list[str]:
    """Why a window alone breaks the policy (empty: it does not)."""
    hours = policy.business_hours
    reasons = []
    for *_, day in business_intervals(window.start, window.end, hours):
        reasons.append(
            f"overlaps business hours {WEEKDAYS[day.weekday()].title()} {day} "
            f"{hours.start:%H:%M}-{hours.end:%H:%M} {hours.timezone} (window {_local(window.start, hours.timezone)}"
            f" - {_local(window.end, hours.timezone)})"
        )
    if window.announced_at is None:
        reasons.append("no announcement time (announced_at)")
    else:
        ahead = window.start - window.announced_at
        if ahead < policy.notice * 60:
            said = f"{hours_minutes(ahead)} ahead" if ahead >= 0 else f"{hours_minutes(-ahead)} after it started"
            reasons.append(f"announced {said}; the policy needs {hours_minutes(policy.notice * 60)}")
    return reasons


def check_windows(windows: list[Window], specs: list[Spec]) -> list[Verdict]:
    """A verdict for every window, in file order."""
    verdicts = [Verdict(w) for w in windows]
    by_service: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        policy = policy_of(specs, verdict.window.service)
        if policy is None:
            known = any(s.service == verdict.window.service for s in specs)
            why = "has no maintenance policy in its spec" if known else "is not a service of the given specs"
            verdict.reasons.append(f"service {verdict.window.service!r} {why}")
            continue
        verdict.reasons += window_reasons(verdict.window, policy)
        by_service.setdefault(verdict.window.service, []).append(verdict)
    for service, group in by_service.items():
        policy = policy_of(specs, service)
        accepted: list[int] = []
        for verdict in sorted(group, key=lambda v: v.window.start):  # stable: file order on ties
            if not verdict.accepted:
                continue
            span = policy.within * 60
            recent = [s for s in accepted if s > verdict.window.start - span]
            if len(recent) >= policy.max_instances:
                since = datetime.fromtimestamp(recent[0], UTC).strftime("%Y-%m-%dT%H:%MZ")
                verdict.reasons.append(
                    f"instance {len(recent) + 1} within {format_duration(span)}: {len(recent)} accepted windows "
                    f"already started since {since} (limit {policy.max_instances} in any rolling "
                    f"{format_duration(span)})"
                )
            else:
                accepted.append(verdict.window.start)
    return verdicts
