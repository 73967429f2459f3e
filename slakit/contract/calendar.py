"""The maintenance calendar: announced windows of planned downtime, from YAML or iCalendar (.ics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slakit.contract.times import MinuteInstant, unix
from slakit.errors import InputError, Problem
from slakit.yamlsource import YamlDocument


class WindowModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    service: str = Field(min_length=1)
    start: MinuteInstant
    end: MinuteInstant
    announced_at: MinuteInstant | None = Field(None, description="when the licensee was notified")
    description: str = ""

    @model_validator(mode="after")
    def _order(self) -> WindowModel:
        if self.end <= self.start:
            raise ValueError("a window must end after it starts")
        return self


class CalendarModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: list[WindowModel] = Field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """One announced window, [start, end) in Unix seconds, with where it was written."""

    id: str
    service: str
    start: int
    end: int
    announced_at: int | None
    description: str
    source: str
    line: int | None

    @property
    def where(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // 60


def load_calendar(path: str | Path) -> list[Window]:
    """Windows of a `.yaml`/`.yml` calendar or an `.ics` file; InputError names file, line and field."""
    if str(path).lower().endswith(".ics"):
        from slakit.contract.ics import load_ics

        windows = load_ics(path)
    else:
        document = YamlDocument.read(path)
        model = document.validate(CalendarModel)
        windows = [_window(w, str(path), document.line_of(["windows", i])) for i, w in enumerate(model.windows)]
    _unique_ids(windows)
    return windows


def _window(model: WindowModel, source: str, line: int | None) -> Window:
    announced = unix(model.announced_at) if model.announced_at is not None else None
    return Window(
        model.id, model.service, unix(model.start), unix(model.end), announced, model.description, source, line
    )


def _unique_ids(windows: list[Window]) -> None:
    seen: dict[str, Window] = {}
    problems = []
    for w in windows:
        if w.id in seen:
            problems.append(
                Problem(w.source, f"window id {w.id!r} is also used at line {seen[w.id].line}", "id", w.line)
            )
        seen.setdefault(w.id, w)
    if problems:
        raise InputError(problems)
