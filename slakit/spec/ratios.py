"""Exact percentages and comparisons: SLA math is done in fractions, never in floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_COMPARISON = re.compile(r"^\s*(>=|<=|>|<)\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def parse_percent(text: str | int | float) -> Fraction:
    """`"99.5%"` or `99.5` → Fraction(199, 200). Floats are read through their decimal text."""
    raw = str(text).strip().removesuffix("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"invalid percentage {text!r}: expected e.g. 99.9%") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(f"percentage {text!r} must be between 0% and 100%")
    return Fraction(value) / 100


@dataclass(frozen=True)
class Comparison:
    """`> 99%`: an operator and an exact fraction."""

    op: str
    value: Fraction

    @classmethod
    def parse(cls, text: str) -> Comparison:
        match = _COMPARISON.match(str(text))
        if not match:
            raise ValueError(f"invalid comparison {text!r}: expected e.g. '> 99%' or '<= 0.1%'")
        return cls(match.group(1), parse_percent(match.group(2)))

    def holds(self, left: Fraction) -> bool:
        return {
            ">": left > self.value,
            ">=": left >= self.value,
            "<": left < self.value,
            "<=": left <= self.value,
        }[self.op]

    def complement(self) -> Comparison:
        """The same condition stated on the other side: good > 99% ⇔ bad < 1%."""
        flipped = {">": "<", ">=": "<=", "<": ">", "<=": ">="}[self.op]
        return Comparison(flipped, 1 - self.value)

    def __str__(self) -> str:
        return f"{self.op} {format_percent(self.value)}"


def format_percent(value: Fraction) -> str:
    return f"{format_number(value * 100)}%"


def format_number(value: Fraction | int | float, digits: int = 12) -> str:
    """A short, exact-where-possible decimal literal (`14.4`, not `14.400000000000002`)."""
    frac = Fraction(value)
    if frac.denominator == 1:
        return str(frac.numerator)
    dec = Decimal(frac.numerator) / Decimal(frac.denominator)
    text = f"{dec:.{digits}g}"
    if "e" in text or "E" in text:
        text = f"{dec:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
