"""Build a month's report: read specs, calendar and ledger, query Prometheus, compute, close into the store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slakit.contract.calendar import load_calendar
from slakit.contract.contract_specs import maintenance_applies
from slakit.contract.ledger import Entry, load_ledger
from slakit.contract.policy import Verdict, check_windows
from slakit.contract.store import MonthStore
from slakit.errors import InputError
from slakit.report.compute import RollingMonth, SloReport, compute, rolling_months
from slakit.report.fetch import fetch_month
from slakit.report.prometheus import Prometheus
from slakit.spec.calendar import Month
from slakit.spec.model import Spec

# A month closes once its last minute's evaluation is surely recorded (uptime lag 2 min, plus a margin).
CLOSE_AFTER_SECONDS = 10 * 60


@dataclass
class Report:
    month: Month
    generated_at: int
    prometheus: str
    slos: list[SloReport]
    verdicts: list[Verdict] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    stored: list[tuple[str, int, bool]] = field(default_factory=list)  # path, version, written
    support: list[dict] = field(default_factory=list)  # slakit/report/support.py, one per service with tickets


def build_report(
    prometheus_url: str,
    specs: list[Spec],
    month: Month,
    calendars: list[str] = (),
    ledgers: list[str] = (),
    store_dir: str | None = None,
    now: float | None = None,
) -> Report:
    now = time.time() if now is None else now
    windows = [w for path in calendars for w in load_calendar(path)]
    verdicts = check_windows(windows, specs)
    entries: list[Entry] = [e for path in ledgers for e in load_ledger(path, specs).effective()]
    targets = [(spec, slo) for spec in specs for slo in spec.slos if slo.period.calendar]
    if not targets:
        raise InputError("no calendar-month SLO in the given specs")
    measured = fetch_month(Prometheus(prometheus_url), targets, month)
    store = MonthStore(store_dir) if store_dir else None
    report = Report(month, int(now), prometheus_url, [], verdicts, {"maintenance": list(calendars),
                    "exclusions": list(ledgers)})  # fmt: skip
    for spec, slo in targets:
        m = measured[(spec.service, slo.name)]
        closed = now >= m.period.end + CLOSE_AFTER_SECONDS
        mine = [v for v in verdicts if v.window.service == spec.service] if maintenance_applies(spec, slo) else []
        applied = [e for e in entries if e.applies_to(spec.service, slo.name)]
        if slo.sli.kind != "uptime":
            applied = []
        r = compute(spec, slo, month, m, mine, applied, closed)
        if store is not None and closed:
            from slakit.report.render_json import closed_record

            path, version, written = store.close(closed_record(r), datetime.fromtimestamp(now, UTC).isoformat())
            report.stored.append((str(path), version, written))
        _rolling(r, store)
        report.slos.append(r)
    return report


def _rolling(r: SloReport, store: MonthStore | None) -> None:
    term = r.slo.credits.termination if r.slo.credits else None
    if term is None:
        return
    for m in rolling_months(r.month, term.within, r.spec.calendar.timezone):
        if m == r.month:
            r.rolling.append(RollingMonth(str(m), r.credits, "this report"))
            continue
        record = store.read(r.spec.service, r.slo.name, str(m)) if store else None
        if record is None:
            r.rolling.append(RollingMonth(str(m), None, "missing"))
        else:
            r.rolling.append(RollingMonth(str(m), int(record["credits"]), f"store v{record['version']}"))
