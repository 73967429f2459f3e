"""`slakit check --maintenance F --exclusions F`: structural errors and policy violations as problems."""

from __future__ import annotations

from slakit.contract.calendar import load_calendar
from slakit.contract.ledger import load_ledger
from slakit.contract.policy import check_windows
from slakit.errors import InputError, Problem
from slakit.spec.model import Spec


def check_files(
    specs: list[Spec], calendars: list[str], ledgers: list[str], specs_given: bool = False
) -> tuple[list[str], list[InputError]]:
    """Files that passed, and the errors of the others (a window breaking the policy is an error)."""
    ok: list[str] = []
    errors: list[InputError] = []
    if (calendars or ledgers) and not specs and not specs_given:
        return ok, [InputError("--maintenance and --exclusions are checked against SPEC files: give them too")]
    for path in calendars:
        try:
            windows = load_calendar(path)
        except InputError as exc:
            errors.append(exc)
            continue
        problems = [
            Problem(v.window.source, f"window {v.window.id!r} is not planned downtime: {reason}", line=v.window.line)
            for v in check_windows(windows, specs)
            for reason in v.reasons
        ]
        if problems:
            errors.append(InputError(problems))
        else:
            ok.append(path)
    for path in ledgers:
        try:
            load_ledger(path, specs)
            ok.append(path)
        except InputError as exc:
            errors.append(exc)
    return ok, errors
