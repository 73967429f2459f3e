"""The report's support section: a month of tickets per service, read from the exporter's ticket state.

The exporter keeps each service's ticket book in `state_dir/support/<service>/` and holds its lock while it runs,
so the report reads a copy: the journal first, then the snapshot (a compaction in between leaves journal records
the snapshot already holds, which their sequence numbers skip). Nothing in the exporter's directory is changed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from slakit.errors import InputError
from slakit.spec.calendar import Month
from slakit.spec.model import Spec
from slakit.support.report import month_report
from slakit.support.tickets import TicketBook

STATE_FILES = ("journal.jsonl", "snapshot.json")


def support_sections(specs: list[Spec], state_dir: str | Path, month: Month) -> list[dict[str, Any]]:
    """One `month_report` per spec with a `support:` section, with met shares added per priority and target."""
    sections = []
    for spec in specs:
        if spec.support is None or spec.calendar is None:
            continue
        source = Path(state_dir) / "support" / spec.service
        if not source.is_dir():
            raise InputError(f"--tickets: no ticket state of {spec.service} in {source}")
        with tempfile.TemporaryDirectory(prefix="slakit-tickets-") as copy:
            for name in STATE_FILES:
                if (source / name).exists():
                    shutil.copyfile(source / name, Path(copy) / name)
            book = TicketBook(copy, spec.support, spec.service, spec.calendar.timezone)
            try:
                section = month_report(book, month)
            finally:
                book.close()
        for targets in section["tickets"].values():
            for counts in targets.values():
                decided = counts["met"] + counts["breached"]
                counts["share_met"] = counts["met"] / decided if decided else None
        sections.append(section)
    return sections
