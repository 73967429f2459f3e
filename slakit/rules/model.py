"""Prometheus rule-file structures, kept as plain data in the order Prometheus documents them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    record: str | None = None
    alert: str | None = None
    expr: str = ""
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def recording(cls, name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
        return cls(record=name, expr=expr, labels=dict(labels or {}))

    @classmethod
    def alerting(
        cls,
        name: str,
        expr: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        for_: str | None = None,
    ) -> Rule:
        return cls(alert=name, expr=expr, for_=for_, labels=labels, annotations=annotations)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record} if self.record else {"alert": self.alert}
        out["expr"] = self.expr
        if self.for_:
            out["for"] = self.for_
        if self.labels:
            out["labels"] = dict(sorted(self.labels.items()))
        if self.annotations:
            out["annotations"] = self.annotations
        return out


@dataclass(frozen=True)
class Group:
    name: str
    interval_minutes: int
    rules: list[Rule]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "interval": f"{self.interval_minutes}m",
            "rules": [r.to_dict() for r in self.rules],
        }
