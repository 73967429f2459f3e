"""The SLO spec: one typed model, validated once; rules, dashboards and reports are functions of it."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from slakit.durations import format_duration, parse_duration
from slakit.spec.calendar import Month, month_periods, zone
from slakit.spec.contract import MaintenancePolicy
from slakit.spec.ratios import Comparison, format_percent, parse_percent
from slakit.spec.support import SupportPolicy

SPEC_VERSION = 1
NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# `name{...}` or `{...}` with a metric name or matchers; promtool checks the full PromQL of the output.
SELECTOR = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?$|^\{.+\}$", re.S)
RESERVED_LABELS = {"service", "slo", "severity", "period", "location", "timezone", "le", "alertname"}


def _minutes(value: Any) -> int:
    seconds = parse_duration(value)
    if seconds < 60 or seconds % 60:
        raise ValueError(f"{value!r} must be a whole number of minutes, at least 1m")
    return int(seconds // 60)


# The JSON Schema describes what users write ("1h", "99.5%", "> 99%"), not the parsed values.
DURATION_SCHEMA = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$", "examples": ["5m", "1h", "30d"]}
PERCENT_SCHEMA = {"type": ["string", "number"], "pattern": r"^[0-9]+(\.[0-9]+)?\s*%?$", "examples": ["99.5%"]}
COMPARISON_SCHEMA = {"type": "string", "pattern": r"^\s*(>=|<=|>|<)\s*[0-9]+(\.[0-9]+)?\s*%\s*$", "examples": ["> 99%"]}
Minutes = Annotated[
    int,
    BeforeValidator(_minutes),
    PlainSerializer(lambda m: format_duration(m * 60)),
    WithJsonSchema(DURATION_SCHEMA),
]
Percent = Annotated[
    Fraction,
    BeforeValidator(parse_percent),
    PlainSerializer(format_percent, return_type=str),
    WithJsonSchema(PERCENT_SCHEMA),
]
ComparisonText = Annotated[
    Comparison,
    BeforeValidator(lambda v: v if isinstance(v, Comparison) else Comparison.parse(v)),
    WithJsonSchema(COMPARISON_SCHEMA),
]


def _name(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"invalid name {value!r}: lower-case letters, digits, '-' and '_'")
    return value


Name = Annotated[str, AfterValidator(_name)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key in labels:
        if not LABEL_NAME.match(key):
            raise ValueError(f"invalid label name {key!r}")
        if key in RESERVED_LABELS or key.startswith("__"):
            raise ValueError(f"label {key!r} is set by slakit and cannot be overridden")
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]


class Calendar(Strict):
    """Where "the month" of a contract lives, and how far ahead boundary tables are generated."""

    timezone: str = Field(description="IANA time zone of the contract's calendar month")
    table_start: str = Field(description="first month (YYYY-MM) of the generated month-boundary table")
    table_months: int = Field(36, ge=1, le=240, description="months in the boundary table")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("table_start")
    @classmethod
    def _month(cls, value: str) -> str:
        return str(Month.parse(value))

    def periods(self):
        return month_periods(Month.parse(self.table_start), self.table_months, zone(self.timezone))


class Objective(Strict):
    """What the contract promises, stated on good events (`good: "> 99%"`) or bad ones (`bad: "<= 0.1%"`)."""

    good: ComparisonText | None = None
    bad: ComparisonText | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Objective:
        if (self.good is None) == (self.bad is None):
            raise ValueError("give exactly one of 'good' (e.g. '> 99%') or 'bad' (e.g. '<= 0.1%')")
        side = self.bad_side
        if side.op in (">", ">="):
            raise ValueError("an objective bounds bad events from above: use 'good: > …' or 'bad: < …'")
        if side.value == 0 and side.op == "<":
            raise ValueError("'bad < 0%' can never be met")
        return self

    @property
    def bad_side(self) -> Comparison:
        """The objective as a bound on the bad fraction: `bad < 1%` (strict) or `bad <= 0.1%`."""
        return self.bad if self.bad is not None else self.good.complement()

    @property
    def budget(self) -> Fraction:
        """The bad fraction the objective tolerates (its error budget)."""
        return self.bad_side.value

    @property
    def strict(self) -> bool:
        return self.bad_side.op == "<"

    @property
    def target(self) -> Fraction:
        """Good fraction at the boundary (0.99 for `> 99%`)."""
        return 1 - self.budget

    def __str__(self) -> str:
        return f"good {self.good}" if self.good is not None else f"bad {self.bad}"


class UptimeSLI(Strict):
    """Minutes classified by slakit exporters (`slakit_probe_minutes_total`)."""

    probes: list[str] = Field(min_length=1, description="probe names (the exporter's `probe` label)")
    probe_service: str | None = Field(None, description="exporter `service` label; default: the spec's")
    quorum: int = Field(1, ge=1, description="locations that must see a minute down for it to count")
    metric: str = "slakit_probe_minutes_total"
    external_probes: list[str] = Field(
        default_factory=list,
        description="probes of external services: an unavailable minute one of them also saw down is excluded",
    )

    @field_validator("probes")
    @classmethod
    def _probes(cls, probes: list[str]) -> list[str]:
        if len(set(probes)) != len(probes):
            raise ValueError("probe names must be unique")
        for probe in probes:
            if not probe or any(c in probe for c in '"\\\n'):
                raise ValueError(f"invalid probe name {probe!r}")
        return probes


def _selectors(values: list[str]) -> list[str]:
    for value in values:
        if not SELECTOR.match(value.strip()):
            raise ValueError(f"not a metric selector: {value!r} (expected e.g. http_requests_total{{code=~'5..'}})")
    return [v.strip() for v in values]


class RatioSLI(Strict):
    """Bad events over all events, each side summed from one or more counter selectors."""

    errors: list[str] = Field(min_length=1, description="counters of bad events, summed")
    total: list[str] = Field(min_length=1, description="counters of all events, summed")
    min_events: int = Field(0, ge=0, description="burn alerts need at least this many events in the long window")

    @field_validator("errors", "total")
    @classmethod
    def _check_selectors(cls, values: list[str]) -> list[str]:
        return _selectors(values)


class SLI(Strict):
    uptime: UptimeSLI | None = None
    ratio: RatioSLI | None = None

    @model_validator(mode="after")
    def _one(self) -> SLI:
        if (self.uptime is None) == (self.ratio is None):
            raise ValueError("give exactly one SLI kind: 'uptime' or 'ratio'")
        return self

    @property
    def kind(self) -> Literal["uptime", "ratio"]:
        return "uptime" if self.uptime is not None else "ratio"


class Period(Strict):
    """The compliance period: the calendar month of the spec's calendar, or a rolling window."""

    calendar: Literal["month"] | None = None
    rolling: Minutes | None = None

    @model_validator(mode="after")
    def _one(self) -> Period:
        if (self.calendar is None) == (self.rolling is None):
            raise ValueError("give exactly one of 'calendar: month' or 'rolling: <duration>'")
        return self

    @property
    def nominal_minutes(self) -> int:
        """Period length used to derive burn-rate factors (a calendar month counts as 30 days)."""
        return self.rolling if self.rolling is not None else 30 * 24 * 60


class BurnRateTier(Strict):
    """One multiwindow burn-rate condition (SRE Workbook, ch. 5)."""

    severity: Literal["page", "ticket"]
    long: Minutes
    short: Minutes
    budget_consumed: Percent | None = Field(None, description="share of the period's budget spent in `long`")
    factor: float | None = Field(None, gt=0, description="burn-rate factor; default derived from budget_consumed")
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> BurnRateTier:
        if self.short < 2:
            # `slakit:slo_events_bad:1m` is already the per-minute series; a 1m window would be recorded under
            # the same name and counted twice.
            raise ValueError("'short' window must be at least 2m (1m is the per-minute series itself)")
        if self.short >= self.long:
            raise ValueError("'short' window must be shorter than 'long'")
        if (self.budget_consumed is None) == (self.factor is None):
            raise ValueError("give exactly one of 'budget_consumed' or 'factor'")
        return self

    def burn_factor(self, period_minutes: int) -> Fraction:
        if self.factor is not None:
            return Fraction(str(self.factor))
        return self.budget_consumed * period_minutes / self.long


def _workbook_tiers() -> list[BurnRateTier]:
    return [
        BurnRateTier(severity="page", long="1h", short="5m", budget_consumed="2%"),
        BurnRateTier(severity="page", long="6h", short="30m", budget_consumed="5%"),
        BurnRateTier(severity="ticket", long="1d", short="2h", budget_consumed="10%"),
        BurnRateTier(severity="ticket", long="3d", short="6h", budget_consumed="10%"),
    ]


class Alerting(Strict):
    burn_rates: list[BurnRateTier] = Field(default_factory=_workbook_tiers)
    budget_spent: list[Percent] = Field(
        default_factory=lambda: [Fraction(1, 2), Fraction(1)],
        description="ticket alerts when these shares of the period's error budget are spent",
    )
    breach_severity: Literal["page", "ticket"] = "page"
    credit_warning: Percent = Field(Fraction(4, 5), description="warn at this share of the next credit tier")
    data_absent_for: Minutes = Field(10, description="alert when an SLO has no data for this long")
    runbook_url: str | None = None
    dashboard_url: str | None = None

    @field_validator("budget_spent")
    @classmethod
    def _spent(cls, values: list[Fraction]) -> list[Fraction]:
        if any(v <= 0 for v in values) or len(set(values)) != len(values):
            raise ValueError("budget_spent shares must be unique and above 0%")
        return sorted(values)


class CreditTier(Strict):
    when: ComparisonText = Field(description="condition on the period's good fraction, e.g. '< 98.5%'")
    credits: int = Field(gt=0)

    @field_validator("when")
    @classmethod
    def _below(cls, value: Comparison) -> Comparison:
        if value.op not in ("<", "<="):
            raise ValueError("credit tiers apply below a threshold: use '< 98.5%' or '<= 98.5%'")
        return value


class Termination(Strict):
    credits_above: int = Field(gt=0)
    within: Minutes = Field(description="rolling window, e.g. 90d")


class Credits(Strict):
    tiers: list[CreditTier] = Field(min_length=1)
    termination: Termination | None = None
    claim_within: Minutes | None = Field(None, description="credits must be claimed this long after the period")

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[CreditTier]) -> list[CreditTier]:
        ordered = sorted(tiers, key=lambda t: (-t.when.value, t.credits))
        for worse, better in zip(ordered[1:], ordered, strict=False):
            if worse.credits <= better.credits:
                raise ValueError("a lower uptime threshold must award more credits")
        return ordered


class SLO(Strict):
    name: Name
    description: str = ""
    objective: Objective
    period: Period = Field(default_factory=lambda: Period(calendar="month"))
    sli: SLI
    alerting: Alerting = Field(default_factory=Alerting)
    credits: Credits | None = None
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SLO:
        for tier in self.alerting.burn_rates:
            if tier.long > self.period.nominal_minutes:
                raise ValueError(f"burn-rate window {format_duration(tier.long * 60)} is longer than the period")
        if self.credits is not None and self.sli.kind != "uptime":
            raise ValueError("service credits are defined on uptime SLOs")
        return self

    @property
    def tiers(self) -> list[BurnRateTier]:
        return [t for t in self.alerting.burn_rates if t.enabled]


class Spec(Strict):
    """One service's SLOs, as written in one spec file."""

    version: Literal[1] = Field(description="spec format version")
    service: Name
    description: str = ""
    labels: Labels = Field(default_factory=dict, description="added to every recorded series and alert")
    calendar: Calendar | None = None
    maintenance: MaintenancePolicy | None = Field(None, description="the planned-downtime policy")
    slos: list[SLO] = Field(min_length=1)
    support: SupportPolicy | None = Field(None, description="support SLA: response and resolution in business time")
    source: str = Field("", exclude=True, description="file the spec was loaded from")
    planned_downtime: tuple[tuple[int, int], ...] = Field(
        (), exclude=True, description="accepted maintenance windows [start, end) in Unix seconds, for the rules"
    )

    @model_validator(mode="after")
    def _check(self) -> Spec:
        names = [slo.name for slo in self.slos]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"SLO names must be unique within a service: {', '.join(dupes)}")
        if self.calendar is None and any(slo.period.calendar for slo in self.slos):
            raise ValueError("a calendar-month SLO needs the spec's 'calendar' (timezone, table_start)")
        return self

    def slo_labels(self, slo: SLO) -> dict[str, str]:
        """Labels on every series and alert of `slo`: spec labels, SLO labels, then service and slo."""
        return {**self.labels, **slo.labels, "service": self.service, "slo": slo.name}

    @cached_property
    def periods(self):
        return self.calendar.periods() if self.calendar else []
