from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from slakit.spec import load_specs

REPO = Path(__file__).resolve().parents[2]
EMPLOYEE_RECORDS = REPO / "rules" / "specs" / "employee-records.yaml"


@pytest.fixture(scope="session")
def specs():
    return load_specs([EMPLOYEE_RECORDS])


def at(text: str) -> int:
    """Unix seconds of an ISO 8601 instant with offset."""
    return int(datetime.fromisoformat(text).timestamp())
