"""The `support:` spec section: the contract's snippet loads, mistakes name the file, field and line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slakit.errors import InputError
from slakit.spec.load import load_spec
from slakit.support.business_time import WorkingDays, deadline

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = (Path(__file__).parent / "erp-api-support.yaml").read_text()


def base_spec() -> str:
    """rules/specs/erp-api.yaml without its own `support:` section, if it has one."""
    lines = (ROOT / "rules/specs/erp-api.yaml").read_text().splitlines(keepends=True)
    if "support:\n" not in lines:
        return "".join(lines)
    start = lines.index("support:\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "#", "\n")), len(lines))
    return "".join(lines[:start] + lines[end:])


def spec_with(tmp_path: Path, support: str) -> Path:
    path = tmp_path / "erp-api.yaml"
    path.write_text(base_spec().rstrip("\n") + "\n" + support)
    return path


def test_contract_snippet_loads_into_working_calendars(tmp_path):
    policy = load_spec(spec_with(tmp_path, SNIPPET)).support
    assert policy.priorities == ["urgent", "high", "normal"]
    assert [policy.resolution[p].allowance for p in policy.priorities] == [
        WorkingDays(3),
        WorkingDays(5),
        WorkingDays(10),
    ]
    assert policy.response.allowance == timedelta(hours=1)
    assert policy.at_risk * 4 == 1
    et = ZoneInfo("America/New_York")
    saturday_night = datetime(2026, 7, 4, 23, 30, tzinfo=et)
    assert deadline(saturday_night, policy.response.allowance, policy.response_calendar()) == datetime(
        2026, 7, 5, 7, 30, tzinfo=et
    )
    thursday = datetime(2026, 7, 2, 12, tzinfo=et)
    assert deadline(thursday, WorkingDays(3), policy.resolution_calendar("urgent")) == datetime(
        2026, 7, 8, 12, tzinfo=et
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('hours: "07:00-24:00"', 'hours: "07:00-25:00"', "support.calendars.support-hours.hours: invalid hours"),
        (
            "calendar: support-hours",
            "calendar: office",
            "support.response: unknown calendar 'office' (defined: support-hours, working-days)",
        ),
        (
            "urgent: {calendar: working-days, working_days: 3}",
            "urgent: {calendar: support-hours, working_days: 3}",
            "support.resolution: urgent: working_days need a calendar open 00:00-24:00",
        ),
        ("within: 1h", "within: 1h\n    working_days: 2", "give exactly one of 'within'"),
        ("country: US", "country: XX", "holidays: Country XX not available"),
        (
            "timezone: America/New_York\n      days: [mon, tue, wed, thu, fri]\n",
            "timezone: America/Gotham\n      days: [mon, tue, wed, thu, fri]\n",
            "unknown IANA time zone 'America/Gotham'",
        ),
        ("days: [mon, tue, wed, thu, fri]\n", "days: [mon, tue, funday]\n", "support.calendars.working-days.days[2]"),
        ("at_risk: 25%", "at_risk: 100%", "support.at_risk: at_risk must be between"),
    ],
)
def test_mistakes_name_file_field_and_line(tmp_path, old, new, message):
    assert old in SNIPPET
    path = spec_with(tmp_path, SNIPPET.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_spec(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(f"{path}:")
    line = int(text.split(":")[1])
    assert line > len(base_spec().splitlines())


def test_published_json_schema_accepts_the_snippet_and_rejects_bad_hours():
    import jsonschema
    import yaml

    from slakit.spec.load import json_schema

    schema = json_schema()
    jsonschema.validate(yaml.safe_load(base_spec() + "\n" + SNIPPET), schema)
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate(yaml.safe_load(base_spec() + "\n" + SNIPPET.replace('"07:00-24:00"', '"7-24"')), schema)
