"""Import maintenance windows from an iCalendar file (RFC 5545), e.g. a status page's published calendar.

Each VEVENT is one window: UID → id, DTSTART/DTEND (or DURATION) → the window, SUMMARY → description.
The service comes from the event's `X-SLAKIT-SERVICE` property, else the calendar's. The announcement time
is `X-SLAKIT-ANNOUNCED` if given, else CREATED, else DTSTAMP. Recurring events (RRULE) are refused: list
each instance, since each one counts towards the policy's instance limit.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from slakit.contract.calendar import Window
from slakit.errors import InputError, Problem


def load_ics(path: str | Path) -> list[Window]:
    import icalendar

    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(Problem(source, f"cannot read file: {exc.strerror or exc}")) from None
    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise InputError(Problem(source, f"invalid iCalendar: {exc}")) from None
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip().upper() == "BEGIN:VEVENT"]
    default_service = str(cal.get("X-SLAKIT-SERVICE", "")) or None
    windows, problems = [], []
    for index, event in enumerate(cal.walk("VEVENT")):
        line = lines[index] if index < len(lines) else None
        try:
            windows.append(_event(event, default_service, source, line))
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            problems.append(Problem(source, message, field, line))
    if problems:
        raise InputError(problems)
    return windows


def _instant(event, name: str, whole: bool = True) -> int | None:
    if name not in event:
        return None
    if name.startswith("X-"):
        import icalendar

        value = icalendar.vDatetime.from_ical(str(event[name]))
    else:
        value = event.decoded(name)
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError(f"{name}: all-day dates are not instants; give a date-time with a time zone")
    if value.tzinfo is None:
        raise ValueError(f"{name}: floating local time; give a TZID or UTC (Z)")
    if whole and (value.second or value.microsecond):
        raise ValueError(f"{name}: {value.isoformat()} is not on a whole minute")
    return int(value.timestamp())


def _event(event, default_service: str | None, source: str, line: int | None) -> Window:
    uid = str(event.get("UID", "")).strip()
    if not uid:
        raise ValueError("UID: missing")
    if "RRULE" in event:
        raise ValueError("RRULE: recurring events are not supported; list each instance")
    service = str(event.get("X-SLAKIT-SERVICE", "")) or default_service
    if not service:
        raise ValueError("X-SLAKIT-SERVICE: missing on the event and on the calendar")
    start = _instant(event, "DTSTART")
    if start is None:
        raise ValueError("DTSTART: missing")
    end = _instant(event, "DTEND")
    if end is None and "DURATION" in event:
        end = start + int(event.decoded("DURATION").total_seconds())
    if end is None or end <= start:
        raise ValueError("DTEND: missing or not after DTSTART")
    announced = None
    for name in ("X-SLAKIT-ANNOUNCED", "CREATED", "DTSTAMP"):
        announced = _instant(event, name, whole=False)
        if announced is not None:
            break
    return Window(uid, service, start, end, announced, str(event.get("SUMMARY", "")), source, line)
