"""Support tickets in the exporter: one `TicketBook` per service, fed by the events API and log sources.

Config (`support_tickets:` at the top level) names spec files; each spec's `support:` section is the policy and
its `calendar.timezone` files decided tickets under the contract's month. Books live in
`state_dir/support/<service>/` (journal + snapshot, see docs/support.md), so a restart loses nothing and a
re-delivered event (same `id`) counts once — which also makes re-reading a log source after a restart safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from slakit.errors import InputError, Problem
from slakit.spec.calendar import Month, period_of
from slakit.spec.model import Minutes, Spec
from slakit.support.tickets import TYPES, TicketBook, parse_event

log = logging.getLogger("slakit.exporter.tickets")
DEFAULT_FORGET_AFTER_MINUTES = 40 * 24 * 60


def last_reported_month(now: float, forget_after_minutes: int, zone: Any) -> Month:
    """The latest month (in `zone`) that ended at least `forget_after` before `now`."""
    holding = period_of(int(now) - forget_after_minutes * 60, zone)  # the month still within the delay
    year, month = (int(part) for part in holding.label.split("-"))
    return Month(year - 1, 12) if month == 1 else Month(year, month - 1)


class SupportTicketsConfig(BaseModel):
    """One service whose support tickets the exporter tracks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: Path = Field(description="SLO spec file with a `support:` section and a `calendar:` (its service is used)")
    forget_after: Minutes = Field(
        DEFAULT_FORGET_AFTER_MINUTES,
        description="a month counts as reported this long after it ended: its resolved tickets are forgotten and "
        "late events dated in it are ignored (default 40d: the report is due after the month, claims within 30d)",
    )
    _spec: Spec | None = PrivateAttr(None)

    @field_validator("spec")
    @classmethod
    def _readable(cls, v: Path) -> Path:
        if not v.is_file():
            raise ValueError(f"spec file {str(v)!r} does not exist or is not a file")
        return v

    @model_validator(mode="after")
    def _load(self) -> SupportTicketsConfig:
        from slakit.spec import load_spec

        try:
            spec = load_spec(self.spec)
        except InputError as exc:
            raise ValueError(f"spec {exc.problems[0]}") from None
        if spec.support is None or spec.calendar is None:
            raise ValueError(f"spec {str(self.spec)!r} needs a `support:` section and a `calendar:`")
        self._spec = spec
        return self

    @property
    def loaded(self) -> Spec:
        assert self._spec is not None
        return self._spec

    @property
    def service(self) -> str:
        return self.loaded.service


def check_support(v: list[SupportTicketsConfig]) -> list[SupportTicketsConfig]:
    seen: dict[str, int] = {}
    for i, entry in enumerate(v):
        if entry.service in seen:
            raise ValueError(f"[{i}]: service {entry.service!r} is already tracked by entry [{seen[entry.service]}]")
        seen[entry.service] = i
    return v


class TicketDesk:
    """The open ticket books, by service."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.books: dict[str, tuple[Spec, TicketBook]] = {}
        self.forget_after: dict[str, int] = {}  # service → minutes
        self._pending: list[SupportTicketsConfig] = []
        self._state_dir: Path | None = None

    def prepare(self, entries: list[SupportTicketsConfig], state_dir: Path | None, source: str) -> None:
        """Check that the books' directories can be written before anything changes (InputError otherwise)."""
        if entries:
            if state_dir is None:
                raise InputError(Problem(source, "support_tickets need a top-level state_dir", field="state_dir"))
            for entry in entries:
                directory = state_dir / "support" / entry.service
                try:
                    directory.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    msg = f"cannot keep ticket state in {str(directory)!r}: {exc.strerror or exc}"
                    raise InputError(Problem(source, msg, field="state_dir")) from None
        self._pending, self._state_dir = entries, state_dir

    def commit(self) -> None:
        """Switch to the prepared entries: a service whose spec stayed the same keeps its open book."""
        wanted = {e.service: e.loaded for e in self._pending}
        self.forget_after = {e.service: e.forget_after for e in self._pending}
        for service, (spec, book) in list(self.books.items()):
            if wanted.get(service) != spec:
                book.close()
                del self.books[service]
        for service, spec in wanted.items():
            if service not in self.books:
                assert self._state_dir is not None and spec.support is not None and spec.calendar is not None
                book = TicketBook(self._state_dir / "support" / service, spec.support, service, spec.calendar.timezone)
                self.books[service] = (spec, book)
                log.info("support tickets of %s: %d open", service, sum(t.open for t in book.tickets.values()))

    def close(self) -> None:
        for _, book in self.books.values():
            book.close()
        self.books.clear()

    def book(self, service: str) -> TicketBook:
        try:
            return self.books[service][1]
        except KeyError:
            raise ValueError(f"service {service!r} has no support_tickets entry in the exporter config") from None

    def priorities(self, service: str) -> list[str]:
        return self.book(service).policy.priorities

    def apply(self, service: str, event: Mapping[str, Any]) -> bool:
        """Apply one ticket event (book format); False when ignored as a duplicate, ValueError when refused."""
        return self.book(service).apply(event)

    def render(self, openmetrics: bool) -> list[str]:
        seconds = self.clock()
        now = datetime.fromtimestamp(seconds, UTC)
        blocks = []
        for service, (_, book) in self.books.items():
            reported = last_reported_month(seconds, self.forget_after[service], book.zone)
            if book.reported_through is None or reported > book.reported_through:
                gone = book.forget_reported(reported)  # bounded state: once a month, one compaction
                log.info("support tickets of %s: %s and earlier reported, %d resolved tickets forgotten",
                         service, reported, gone)  # fmt: skip
            book.tick(now)
            blocks.append(book.render(openmetrics))
        return blocks


def ticket_event_model(desk: TicketDesk) -> type[BaseModel]:
    """The events API's `ticket` event: `{"type": "ticket", "service", "event": "created", "id", "ticket",
    "priority"?, "at"}`; the shape is checked against the service's book before anything is applied."""
    from slakit.exporter.events import ServiceEvent

    class TicketEvent(ServiceEvent):
        type: Literal["ticket"]
        event: Literal[TYPES] = Field(description="the ticket lifecycle event")  # type: ignore[valid-type]
        id: str
        ticket: str
        priority: str | None = None
        at: str | int | float

        @model_validator(mode="after")
        def _shape(self) -> TicketEvent:
            if self.count != 1:
                raise ValueError("count: ticket events stand for one event each")
            parse_event(self.book_event(), desk.priorities(self.service))
            return self

        def book_event(self) -> dict[str, Any]:
            record = {"id": self.id, "type": self.event, "ticket": self.ticket, "at": self.at}
            if self.priority is not None:
                record["priority"] = self.priority
            return record

    return TicketEvent
