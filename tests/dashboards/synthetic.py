"""A synthetic history for the dashboard test: exporter, traffic and delivery counters minute by minute.

Minute `i` is `[start + 60 i, start + 60 (i + 1))`. The probe outcomes, request and delivery counts are
plain functions of `i`, so the expected month-to-date numbers are computed here from the same schedule
the counters are written from, without PromQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from slakit.rules.generator import allowed_bad, credit_threshold
from slakit.rules.maintenance import PLANNED_1M
from slakit.spec.calendar import Period
from slakit.spec.model import SLO

REASONS = ("connect", "timeout")
BUCKETS = ("0.1", "0.5", "1", "+Inf")


@dataclass(frozen=True)
class Probe:
    service: str
    probe: str
    location: str
    down: tuple[tuple[int, int], ...] = ()
    silent: tuple[tuple[int, int], ...] = ()

    def outcome(self, i: int) -> str:
        if any(a <= i < b for a, b in self.silent):
            return "none"
        return "down" if any(a <= i < b for a, b in self.down) else "up"


@dataclass(frozen=True)
class Schedule:
    """`minutes` minutes of history from `start`; the last `outage` minutes erp-api is down."""

    start: int
    minutes: int
    outage: int

    @property
    def probes(self) -> list[Probe]:
        end = (self.minutes - self.outage, self.minutes)
        return [
            Probe("erp-api", "erp-health", "nyc", down=((100, 130), end), silent=((500, 520),)),
            Probe(
                "employee-records",
                "employee-records-login",
                "nyc",
                down=((200, 900),),
                silent=((1500, 1510), (1600, 1605)),
            ),
            Probe("employee-records", "employee-records-api", "nyc", silent=((1500, 1510),)),
            Probe("employee-records", "employee-records-login", "fra", silent=((1500, 1510),)),
            Probe("employee-records", "employee-records-api", "fra", down=((1000, 1010),), silent=((1500, 1510),)),
        ]

    def minute(self, i: int) -> int:
        return self.start + 60 * i


# Events in minute i (cumulative counters at each boundary hold the sum of the minutes before it).
def requests_2xx(i: int) -> int:
    return 100 + i % 7


def requests_5xx(i: int) -> int:
    return 3 if 300 <= i < 310 else int(i % 50 == 0)


def webhooks_ok(i: int) -> int:
    return 10


def webhooks_failed(i: int) -> int:
    return int(i % 90 == 0)


def menu_failed(i: int) -> int:
    return int(i % 120 == 0)


def maintenance(i: int) -> int:
    return int(1200 <= i < 1260)


def _counter_rows(name: str, labels: str, per_minute: Callable[[int], int], s: Schedule, until: int) -> Iterator[str]:
    total = 0
    for i in range(until + 1):
        yield f"{name}{{{labels}}} {total} {s.minute(i)}"
        if i < until:
            total += per_minute(i)


def families(s: Schedule, table: dict[str, int], timezone: str, table_until: int) -> dict[str, list[str]]:
    """Metric family → sample lines (grouped by series, in time order); every sample on a minute boundary."""
    out: dict[str, list[str]] = {}
    n = s.minutes
    for p in s.probes:
        base = f'service="{p.service}",probe="{p.probe}",location="{p.location}"'
        for outcome in ("up", "down"):
            rows = _counter_rows(
                "slakit_probe_minutes_total",
                f'{base},outcome="{outcome}"',
                lambda i, p=p, o=outcome: p.outcome(i) == o,
                s,
                n,
            )
            out.setdefault("slakit_probe_minutes_total", []).extend(rows)
        for reason in REASONS:
            fails = (
                (lambda i, p=p: 30 * (p.outcome(i) == "down")) if reason == "connect" else (lambda i: int(i % 30 == 0))
            )
            rows = _counter_rows("slakit_probe_failures_total", f'{base},reason="{reason}"', fails, s, n)
            out.setdefault("slakit_probe_failures_total", []).extend(rows)
        cumulative = {"0.1": 20, "0.5": 28, "1": 29, "+Inf": 30}  # 30 probes a minute
        for le in BUCKETS:
            rows = _counter_rows(
                "slakit_probe_duration_seconds_bucket", f'{base},le="{le}"', lambda i, c=cumulative[le]: c, s, n
            )
            out.setdefault("slakit_probe_duration_seconds_bucket", []).extend(rows)
    traffic = [
        ("slakit_requests_total", 'code_class="2xx"', requests_2xx),
        ("slakit_requests_total", 'code_class="5xx"', requests_5xx),
        ("slakit_webhook_deliveries_total", 'result="delivered"', webhooks_ok),
        ("slakit_webhook_deliveries_total", 'result="failed"', webhooks_failed),
        ("slakit_menu_syncs_total", 'result="ok"', webhooks_ok),
        ("slakit_menu_syncs_total", 'result="failed"', menu_failed),
    ]
    for service in ("erp-api", "employee-records"):
        for name, label, per_minute in traffic:
            out.setdefault(name, []).extend(_counter_rows(name, f'service="{service}",{label}', per_minute, s, n))
        planned = f'{PLANNED_1M}{{service="{service}",slo="uptime"}}'
        out.setdefault(PLANNED_1M, []).extend(f"{planned} {maintenance(i)} {s.minute(i)}" for i in range(n + 1))
    out["slakit:period:start_timestamp_seconds"] = [
        f'slakit:period:start_timestamp_seconds{{timezone="{timezone}",period="{label}"}} {start} {s.minute(i)}'
        for label, start in table.items()
        for i in range(table_until + 1)
    ]
    return out


def openmetrics_days(fams: dict[str, list[str]]) -> list[str]:
    """One OpenMetrics text per UTC day (promtool re-reads its input for every 2h block it writes)."""
    days: dict[int, dict[str, list[str]]] = {}
    for name, lines in fams.items():
        for line in lines:
            day = int(line.rsplit(" ", 1)[1]) // 86400
            days.setdefault(day, {}).setdefault(name, []).append(line)
    texts = []
    for day in sorted(days):
        lines = []
        for name, rows in days[day].items():
            lines += [f"# TYPE {name} gauge", *rows]
        texts.append("\n".join([*lines, "# EOF"]) + "\n")
    return texts


@dataclass(frozen=True)
class Expected:
    bad: int
    total: int
    elapsed: int
    minutes: int


def uptime_expected(s: Schedule, service: str, slo: SLO, period: Period, counted: int) -> Expected:
    """Bad and known minutes of `service` from the period's start (or the history's) to `counted`, inclusive."""
    probes = [p for p in s.probes if p.service == service]
    quorum = slo.sli.uptime.quorum
    bad = known = 0
    for i in range(s.minutes):
        m = s.minute(i)
        if not period.start <= m <= counted:
            continue
        locations = {p.location for p in probes}
        down = sum(any(p.outcome(i) == "down" for p in probes if p.location == loc) for loc in locations)
        seen = sum(any(p.outcome(i) != "none" for p in probes if p.location == loc) for loc in locations)
        bad += down >= quorum
        known += seen >= quorum
    return Expected(bad, known, (counted - period.start) // 60 + 1, period.minutes)


def ratio_expected(s: Schedule, period: Period, counted: int) -> Expected:
    """erp-api api-errors: 5xx + failed webhooks + failed menu syncs over all three, minutes in the period to
    `counted`."""
    bad = total = 0
    for i in range(s.minutes):
        if period.start <= s.minute(i) <= counted:
            bad += requests_5xx(i) + webhooks_failed(i) + menu_failed(i)
            total += requests_2xx(i) + requests_5xx(i) + 2 * webhooks_ok(i) + webhooks_failed(i) + menu_failed(i)
    return Expected(bad, total, (counted - period.start) // 60 + 1, period.minutes)


def stat_values(slo: SLO, e: Expected) -> dict[str, float]:
    """Expected value of each stat panel (by title prefix) of one SLO."""
    budget, strict = slo.objective.budget, slo.objective.strict
    if slo.sli.kind == "uptime":
        values = {
            "Uptime": float(1 - Fraction(e.bad, e.elapsed)),
            "Target": float(slo.objective.target),
            "Error budget remaining": float(1 - e.bad / (e.minutes * budget)),
            "Unavailable minutes allowed": allowed_bad(e.minutes, budget, strict),
            "Unavailable minutes": e.bad,
            "Unknown minutes": e.elapsed - e.total,
        }
        if slo.credits is not None:
            credits = 0
            for tier in slo.credits.tiers:
                if e.bad >= credit_threshold(e.minutes, tier.when.op, tier.when.value):
                    credits = max(credits, tier.credits)
            values["Service credits"] = credits
        else:
            values["Objective"] = int(e.bad * budget.denominator < e.minutes * budget.numerator)
        return values
    ok = (
        e.bad * budget.denominator < e.total * budget.numerator
        if strict
        else e.bad * budget.denominator <= e.total * budget.numerator
    )
    return {
        "Error rate target": float(budget),
        "Error rate": float(Fraction(e.bad, e.total)),
        "Error budget remaining": float(1 - e.bad / (e.total * budget)),
        "Bad events allowed": max(allowed_bad(e.total, budget, strict), 0),
        "Bad events": e.bad,
        "Events": e.total,
        "Objective": int(ok),
    }
