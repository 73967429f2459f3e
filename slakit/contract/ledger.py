"""The exclusions ledger: contract exclusions no probe can see, recorded append-only with their history.

An entry excludes the unavailable minutes of [start, end) for one SLO (or every SLO of the service) under
a contract clause. Entries are never edited: an amendment is a new entry that `supersedes` an earlier one
(and may `withdraw` it). The ledger must stay in the order it was written: ids unique, `recorded_at`
never decreasing, `supersedes` naming an earlier entry of the same service, each entry superseded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slakit.contract.times import MinuteInstant, unix
from slakit.errors import InputError, Problem
from slakit.spec.model import Spec
from slakit.yamlsource import YamlDocument


class EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    service: str = Field(min_length=1)
    slo: str | None = Field(None, description="the SLO; default every uptime SLO of the service")
    start: MinuteInstant
    end: MinuteInstant
    clause: str = Field(min_length=1, description="the contract clause, e.g. '002 exclusions 2'")
    reason: str = Field(min_length=1)
    recorded_by: str = Field(min_length=1)
    recorded_at: MinuteInstant | None = None
    supersedes: str | None = None
    withdrawn: bool = Field(False, description="with supersedes: the earlier entry no longer applies")

    @model_validator(mode="after")
    def _check(self) -> EntryModel:
        if self.end <= self.start:
            raise ValueError("an exclusion must end after it starts")
        if self.recorded_at is None:
            raise ValueError("recorded_at: required (when the entry was recorded)")
        if self.withdrawn and self.supersedes is None:
            raise ValueError("withdrawn: only an amendment (with supersedes) can withdraw an entry")
        return self


class LedgerModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: list[EntryModel] = Field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    id: str
    service: str
    slo: str | None
    start: int
    end: int
    clause: str
    reason: str
    recorded_by: str
    recorded_at: int
    supersedes: str | None
    withdrawn: bool
    line: int | None

    def applies_to(self, service: str, slo: str) -> bool:
        return self.service == service and self.slo in (None, slo)

    def as_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "line"}


@dataclass(frozen=True)
class Ledger:
    source: str
    entries: list[Entry]

    def effective(self) -> list[Entry]:
        """Entries in force: not superseded by a later amendment, and not withdrawals."""
        replaced = {e.supersedes for e in self.entries if e.supersedes}
        return [e for e in self.entries if e.id not in replaced and not e.withdrawn]


def load_ledger(path: str | Path, specs: list[Spec] | None = None) -> Ledger:
    document = YamlDocument.read(path)
    model = document.validate(LedgerModel)
    source = str(path)
    entries = [
        Entry(
            e.id, e.service, e.slo, unix(e.start), unix(e.end), e.clause, e.reason, e.recorded_by,
            unix(e.recorded_at), e.supersedes, e.withdrawn, document.line_of(["entries", i]),
        )
        for i, e in enumerate(model.entries)
    ]  # fmt: skip
    problems = _history_problems(source, entries) + _spec_problems(source, entries, specs)
    if problems:
        raise InputError(problems)
    return Ledger(source, entries)


def _history_problems(source: str, entries: list[Entry]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, Entry] = {}
    superseded: dict[str, Entry] = {}
    previous: Entry | None = None
    for i, e in enumerate(entries):
        where = f"entries[{i}]"

        def bad(field: str, message: str, e=e, where=where) -> None:
            problems.append(Problem(source, message, f"{where}.{field}", e.line))

        if e.id in seen:
            bad("id", f"id {e.id!r} is already used at line {seen[e.id].line}: amend with a new entry")
        if previous is not None and e.recorded_at < previous.recorded_at:
            bad("recorded_at", "recorded before the entry above it: the ledger is append-only, add entries at the end")
        if e.supersedes is not None:
            target = seen.get(e.supersedes)
            if target is None:
                bad("supersedes", f"no earlier entry {e.supersedes!r}")
            elif target.service != e.service:
                bad("supersedes", f"entry {e.supersedes!r} belongs to service {target.service!r}")
            elif e.supersedes in superseded:
                other = superseded[e.supersedes]
                bad("supersedes", f"entry {e.supersedes!r} is already superseded by {other.id!r} (line {other.line})")
            else:
                superseded[e.supersedes] = e
        seen.setdefault(e.id, e)
        previous = e
    return problems


def _spec_problems(source: str, entries: list[Entry], specs: list[Spec] | None) -> list[Problem]:
    if not specs:
        return []
    problems = []
    by_service = {s.service: s for s in specs}
    for i, e in enumerate(entries):
        spec = by_service.get(e.service)
        if spec is None:
            problems.append(Problem(source, f"unknown service {e.service!r}", f"entries[{i}].service", e.line))
        elif e.slo is not None and e.slo not in {slo.name for slo in spec.slos}:
            problems.append(Problem(source, f"service {e.service!r} has no SLO {e.slo!r}", f"entries[{i}].slo", e.line))
    return problems
