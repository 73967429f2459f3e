"""Malformed specs: `slakit check` exits 2, prints nothing on stdout and names file, line and field path.

Each case writes a spec into tmp_path and runs `python -m slakit check` as a subprocess, comparing the
stderr lines exactly.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

VALID = """\
version: 1
service: shop
calendar:
  timezone: Europe/Berlin
  table_start: "2026-01"
slos:
  - name: uptime
    objective:
      good: "> 99%"
    sli:
      uptime:
        probes: [shop-home]
"""

RATIO_SLI = """\
      ratio:
        errors: ["shop_requests_total{code=~'5..'}"]
        total: [shop_requests_total]
"""
UPTIME_SLI = "      uptime:\n        probes: [shop-home]\n"


def variant(*replacements: tuple[str, str], append: str = "") -> str:
    text = VALID
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + append


def burn_rates(tier: str) -> tuple[str, str]:
    return ("    sli:", f"    alerting:\n      burn_rates:\n        - {tier}\n    sli:")


PREFIX = "slakit check: error: "

CASES: dict[str, tuple[str, list[str | re.Pattern[str]]]] = {
    "missing version": (
        variant(("version: 1\n", "")),
        ["spec.yaml:1: version: Field required"],
    ),
    "unsupported version": (
        variant(("version: 1", "version: 2")),
        ["spec.yaml:1: version: Input should be 1"],
    ),
    "unknown top-level field": (
        variant(("service: shop\n", "service: shop\nowner: me\n")),
        ["spec.yaml:3: owner: Extra inputs are not permitted"],
    ),
    "unknown nested field": (
        variant(("        probes: [shop-home]", "        probes: [shop-home]\n        timeout: 5s")),
        ["spec.yaml:13: slos[0].sli.uptime.timeout: Extra inputs are not permitted"],
    ),
    "objective text": (
        variant(('"> 99%"', '"about 99"')),
        ["spec.yaml:9: slos[0].objective.good: invalid comparison 'about 99': expected e.g. '> 99%' or '<= 0.1%'"],
    ),
    "percentage above 100": (
        variant(('"> 99%"', '"> 101%"')),
        ["spec.yaml:9: slos[0].objective.good: percentage '101' must be between 0% and 100%"],
    ),
    "both good and bad": (
        variant(('good: "> 99%"', 'good: "> 99%"\n      bad: "< 1%"')),
        ["spec.yaml:8: slos[0].objective: give exactly one of 'good' (e.g. '> 99%') or 'bad' (e.g. '<= 0.1%')"],
    ),
    "neither good nor bad": (
        variant(('      good: "> 99%"\n', ""), ("    objective:\n", "    objective: {}\n")),
        ["spec.yaml:8: slos[0].objective: give exactly one of 'good' (e.g. '> 99%') or 'bad' (e.g. '<= 0.1%')"],
    ),
    "bad bounded from below": (
        variant(('good: "> 99%"', 'bad: "> 1%"')),
        ["spec.yaml:8: slos[0].objective: an objective bounds bad events from above: use 'good: > …' or 'bad: < …'"],
    ),
    "bad below zero": (
        variant(('good: "> 99%"', 'bad: "< 0%"')),
        ["spec.yaml:8: slos[0].objective: 'bad < 0%' can never be met"],
    ),
    "bad duration": (
        variant(("    sli:", "    period:\n      rolling: 28x\n    sli:")),
        ["spec.yaml:11: slos[0].period.rolling: invalid duration '28x': expected e.g. 30s, 5m, 1h30m, 500ms"],
    ),
    "window not whole minutes": (
        variant(burn_rates("{severity: page, long: 1h, short: 90s, factor: 14.4}")),
        ["spec.yaml:12: slos[0].alerting.burn_rates[0].short: '90s' must be a whole number of minutes, at least 1m"],
    ),
    "1m short window (the per-minute series' own name)": (
        variant(burn_rates("{severity: page, long: 5m, short: 1m, factor: 14.4}")),
        [
            "spec.yaml:12: slos[0].alerting.burn_rates[0]: 'short' window must be at least 2m (1m is the per-minute "
            "series itself)"
        ],
    ),
    "short window not shorter than long": (
        variant(burn_rates("{severity: page, long: 1h, short: 1h, factor: 14.4}")),
        ["spec.yaml:12: slos[0].alerting.burn_rates[0]: 'short' window must be shorter than 'long'"],
    ),
    "tier with factor and budget_consumed": (
        variant(burn_rates("{severity: page, long: 1h, short: 5m, factor: 14.4, budget_consumed: 2%}")),
        ["spec.yaml:12: slos[0].alerting.burn_rates[0]: give exactly one of 'budget_consumed' or 'factor'"],
    ),
    "burn window longer than the rolling period": (
        variant(("    sli:", "    period:\n      rolling: 1d\n    sli:")),
        ["spec.yaml:7: slos[0]: burn-rate window 3d is longer than the period"],
    ),
    "unknown time zone": (
        variant(("Europe/Berlin", "Europe/Atlantis")),
        ["spec.yaml:4: calendar.timezone: unknown IANA time zone 'Europe/Atlantis'"],
    ),
    "bad table month": (
        variant(('"2026-01"', '"2026-13"')),
        ["spec.yaml:5: calendar.table_start: invalid month '2026-13': expected YYYY-MM"],
    ),
    "calendar SLO without calendar": (
        variant(('calendar:\n  timezone: Europe/Berlin\n  table_start: "2026-01"\n', "")),
        ["spec.yaml:1: (top level): a calendar-month SLO needs the spec's 'calendar' (timezone, table_start)"],
    ),
    "duplicate SLO names": (
        variant(append='  - name: uptime\n    objective:\n      good: "> 98%"\n    sli:\n' + UPTIME_SLI),
        ["spec.yaml:1: (top level): SLO names must be unique within a service: uptime"],
    ),
    "invalid SLO name": (
        variant(("name: uptime", "name: Up Time")),
        ["spec.yaml:7: slos[0].name: invalid name 'Up Time': lower-case letters, digits, '-' and '_'"],
    ),
    "reserved label": (
        variant(("service: shop\n", "service: shop\nlabels:\n  severity: high\n")),
        ["spec.yaml:3: labels: label 'severity' is set by slakit and cannot be overridden"],
    ),
    "reserved label on an SLO": (
        variant(("    objective:", "    labels:\n      __name__: x\n    objective:")),
        ["spec.yaml:8: slos[0].labels: label '__name__' is set by slakit and cannot be overridden"],
    ),
    "quorum zero": (
        variant(("probes: [shop-home]", "probes: [shop-home]\n        quorum: 0")),
        ["spec.yaml:13: slos[0].sli.uptime.quorum: Input should be greater than or equal to 1"],
    ),
    "duplicate probes": (
        variant(("probes: [shop-home]", "probes: [shop-home, shop-home]")),
        ["spec.yaml:12: slos[0].sli.uptime.probes: probe names must be unique"],
    ),
    "invalid selector": (
        variant((UPTIME_SLI, RATIO_SLI.replace("\"shop_requests_total{code=~'5..'}\"", '"rate(x_total[5m])"'))),
        [
            "spec.yaml:12: slos[0].sli.ratio.errors: not a metric selector: 'rate(x_total[5m])' "
            "(expected e.g. http_requests_total{code=~'5..'})"
        ],
    ),
    "two SLI kinds": (
        variant((UPTIME_SLI, UPTIME_SLI + RATIO_SLI)),
        ["spec.yaml:10: slos[0].sli: give exactly one SLI kind: 'uptime' or 'ratio'"],
    ),
    "credits on a ratio SLO": (
        variant((UPTIME_SLI, RATIO_SLI), append='    credits:\n      tiers:\n        - {when: "< 99%", credits: 5}\n'),
        ["spec.yaml:7: slos[0]: service credits are defined on uptime SLOs"],
    ),
    "credit tiers out of order": (
        variant(
            append='    credits:\n      tiers:\n        - {when: "< 99%", credits: 10}\n'
            '        - {when: "< 95%", credits: 5}\n'
        ),
        ["spec.yaml:14: slos[0].credits.tiers: a lower uptime threshold must award more credits"],
    ),
    "credit tier above a threshold": (
        variant(append='    credits:\n      tiers:\n        - {when: "> 99%", credits: 10}\n'),
        [
            "spec.yaml:15: slos[0].credits.tiers[0].when: credit tiers apply below a threshold: "
            "use '< 98.5%' or '<= 98.5%'"
        ],
    ),
    "invalid YAML": (
        variant(("    objective:\n", "    objective:\n   bad indent: [\n")),
        # The parser's own words differ between libyaml and pure-Python PyYAML; file, line and prefix do not.
        [
            re.compile(
                r"spec\.yaml:9: invalid YAML: "
                r"(expected <block end>, but found '<block mapping start>'|did not find expected '-' indicator)"
            )
        ],
    ),
    "not a mapping": (
        "- a\n- b\n",
        ["spec.yaml:1: (top level): Input should be a valid dictionary or instance of Spec"],
    ),
    "empty file": (
        "",
        ["spec.yaml: version: Field required", "spec.yaml: service: Field required", "spec.yaml: slos: Field required"],
    ),
}


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slakit", "check", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def same_lines(got: list[str], expected: list[str | re.Pattern[str]]) -> None:
    assert len(got) == len(expected), (got, expected)
    for line, want in zip(got, expected, strict=True):
        if isinstance(want, re.Pattern):
            assert line.startswith(PREFIX) and want.fullmatch(line[len(PREFIX) :]), (line, want.pattern)
        else:
            assert line == PREFIX + want


def assert_errors(proc: subprocess.CompletedProcess[str], expected: list[str | re.Pattern[str]]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    same_lines(proc.stderr.splitlines(), expected)


def test_the_base_spec_is_valid(tmp_path: Path):
    (tmp_path / "spec.yaml").write_text(VALID)
    proc = check("spec.yaml", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "spec.yaml: ok\n", "")


def slug(name: str) -> str:
    return name.replace(" ", "-")


@pytest.fixture(scope="module")
def checked_all(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One `slakit check` over every malformed spec (each in its own directory): it lists every file's problems."""
    root = tmp_path_factory.mktemp("malformed")
    for name, (text, _) in CASES.items():
        (root / slug(name)).mkdir()
        (root / slug(name) / "spec.yaml").write_text(text)
    return check(*(f"{slug(name)}/spec.yaml" for name in CASES), cwd=root)


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_spec(checked_all: subprocess.CompletedProcess[str], name: str):
    _, expected = CASES[name]
    assert "Traceback" not in checked_all.stderr, checked_all.stderr
    assert checked_all.returncode == 2 and checked_all.stdout == ""
    prefix = f"{PREFIX}{slug(name)}/"
    mine = [line.replace(prefix, PREFIX, 1) for line in checked_all.stderr.splitlines() if line.startswith(prefix)]
    same_lines(mine, expected)


def test_nothing_but_the_expected_problems(checked_all: subprocess.CompletedProcess[str]):
    assert len(checked_all.stderr.splitlines()) == sum(len(expected) for _, expected in CASES.values())


@pytest.mark.parametrize("name", ["unknown top-level field", "invalid YAML", "duplicate SLO names"])
def test_malformed_spec_alone(tmp_path: Path, name: str):
    text, expected = CASES[name]
    (tmp_path / "spec.yaml").write_text(text)
    assert_errors(check("spec.yaml", cwd=tmp_path), expected)


def test_file_not_found(tmp_path: Path):
    assert_errors(check("missing.yaml", cwd=tmp_path), ["missing.yaml: cannot read file: No such file or directory"])


def test_not_utf8(tmp_path: Path):
    (tmp_path / "spec.yaml").write_bytes(b"version: 1\nservice: \xff\xfe\n")
    assert_errors(check("spec.yaml", cwd=tmp_path), ["spec.yaml: file is not UTF-8 text"])


def test_problems_of_every_file_are_listed(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(variant(("Europe/Berlin", "Mars/Olympus")))
    (tmp_path / "b.yaml").write_text(variant(("service: shop", "service: cart"), ('"> 99%"', '"99"')))
    (tmp_path / "c.yaml").write_text(variant(("service: shop", "service: ok")))
    assert_errors(
        check("a.yaml", "b.yaml", "c.yaml", cwd=tmp_path),
        [
            "a.yaml:4: calendar.timezone: unknown IANA time zone 'Mars/Olympus'",
            "b.yaml:9: slos[0].objective.good: invalid comparison '99': expected e.g. '> 99%' or '<= 0.1%'",
        ],
    )


def test_several_problems_in_one_file(tmp_path: Path):
    text = variant(("Europe/Berlin", "Nowhere/City"), ("name: uptime", "name: UP"))
    text = text.replace("probes: [shop-home]", "probes: []")
    (tmp_path / "spec.yaml").write_text(text)
    assert_errors(
        check("spec.yaml", cwd=tmp_path),
        [
            "spec.yaml:4: calendar.timezone: unknown IANA time zone 'Nowhere/City'",
            "spec.yaml:7: slos[0].name: invalid name 'UP': lower-case letters, digits, '-' and '_'",
            "spec.yaml:12: slos[0].sli.uptime.probes: List should have at least 1 item after validation, not 0",
        ],
    )


def test_duplicate_service_across_two_files(tmp_path: Path):
    (tmp_path / "one.yaml").write_text(VALID)
    (tmp_path / "two.yaml").write_text(VALID)
    proc = check("one.yaml", "two.yaml", cwd=tmp_path)
    assert_errors(proc, ["two.yaml:2: service: service 'shop' is also defined in one.yaml"])


def test_generate_refuses_a_bad_spec_and_writes_nothing(tmp_path: Path):
    (tmp_path / "spec.yaml").write_text(variant(("Europe/Berlin", "Europe/Atlantis")))
    proc = subprocess.run(
        [sys.executable, "-m", "slakit", "rules", "generate", "spec.yaml", "-o", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    message = "spec.yaml:4: calendar.timezone: unknown IANA time zone 'Europe/Atlantis'"
    assert proc.stderr == f"slakit rules: error: {message}\n"
    assert not (tmp_path / "out").exists()
