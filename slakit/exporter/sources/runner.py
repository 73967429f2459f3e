"""`SourceSet`: one polling task per log source, its metrics, and the persistence of read positions.

Exactness across restarts: the position written to `state_dir` is the one that matches what the last
`/metrics` response showed (it is snapshotted while rendering, in the same event-loop step as the counters),
and it is written right after that scrape and on shutdown. Lines counted after the last scrape were never
seen by Prometheus, so the next process reads them again; lines a scrape showed are never read again.
Within one process the position only moves forward in memory; the file is never read back, so a failed or
late write cannot double-count anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from slakit.errors import InputError, Problem
from slakit.exporter.exposition import Family, escape
from slakit.exporter.sources.config import REJECT_REASONS, SourceConfig
from slakit.exporter.sources.follower import Follower
from slakit.exporter.sources.offsets import OffsetStore, Position
from slakit.exporter.sources.parsers import Parser, build_parser
from slakit.exporter.traffic import TrafficCounters

TicketSink = Callable[[str, Mapping], object]

log = logging.getLogger("slakit.exporter.sources")
POLL_SECONDS = 0.25
READ_BUDGET = 256 * 1024  # bytes read and counted per event-loop turn before yielding (~2-5 ms of parsing)

LINES = Family("slakit_log_lines_total", "counter", "Complete lines read from the log source (counted or rejected).")
REJECTED = Family(
    "slakit_log_lines_rejected_total", "counter", "Lines of the log source that were not counted, by reason."
)
UP = Family("slakit_log_source_up", "gauge", "Whether the log source's file exists and is being read.")
ROTATIONS = Family(
    "slakit_log_source_rotations_total", "counter", "Rotations of the log source's file seen (rename or truncation)."
)


class Source:
    def __init__(
        self, config: SourceConfig, follower: Follower, saved: Position | None, tickets: TicketSink | None = None
    ) -> None:
        self.config = config
        self.follower = follower
        self.tickets = tickets
        self.parse: Parser = build_parser(config, tickets)
        self.lines = 0
        self.rejected = dict.fromkeys(REJECT_REASONS, 0)
        self.exposed: Position | None = saved  # the position matching the last rendered counters
        self.saved: Position | None = saved  # what is on disk
        self.task: asyncio.Task[None] | None = None
        self.last_error = ""

    def configure(self, config: SourceConfig) -> None:
        self.config = config
        self.parse = build_parser(config, self.tickets)
        self.follower.max_line = config.max_line_bytes


class SourceSet:
    def __init__(
        self, traffic: TrafficCounters, config_source: str = "config", tickets: TicketSink | None = None
    ) -> None:
        self.traffic = traffic
        self.tickets = tickets  # where the events of `tickets` sources go: (service, event) → applied
        self.config_source = config_source
        self.sources: dict[str, Source] = {}
        self.store: OffsetStore | None = None
        self._pending: OffsetStore | None = None
        self._wake: asyncio.Event | None = None
        self._persister: asyncio.Task[None] | None = None

    # -- life cycle -----------------------------------------------------------------------------------------

    def prepare(self, configs: list[SourceConfig], state_dir: Path | None) -> None:
        """Check that offsets can be written before anything changes (InputError: a reload keeps the old config)."""
        self._pending = self._prepare(state_dir) if configs else self.store

    def apply(self, configs: list[SourceConfig], running: bool) -> None:
        """Switch to these sources (after `prepare`). A source whose name and path stay keeps its position
        and counts; a new or moved one resumes from its saved position, if any."""
        store = self._pending
        for name in [n for n in self.sources if n not in {c.name for c in configs}]:
            self._remove(name)
        self.store = store
        for config in configs:
            src = self.sources.get(config.name)
            if src is not None and src.config.path == config.path:
                src.configure(config)
            else:
                if src is not None:
                    self._remove(config.name)
                saved = store.load(config.name) if store is not None else None
                follower = Follower(config.path, config.max_line_bytes, config.start_at, saved)
                src = self.sources[config.name] = Source(config, follower, saved, self.tickets)
            if config.kind != "tickets":
                self.traffic.declare(config.kind, [config.service])
            if running and src.task is None:
                src.task = asyncio.create_task(self._follow(src), name=f"source {config.name}")
        self.sources = {c.name: self.sources[c.name] for c in configs}  # the config's order
        if running and self._persister is None and self.sources:
            self._wake = asyncio.Event()
            self._persister = asyncio.create_task(self._persist_loop(), name="source offsets")

    def _prepare(self, state_dir: Path | None) -> OffsetStore:
        assert state_dir is not None  # the config model requires it with sources
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            probe = state_dir / ".slakit-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            msg = f"cannot write read offsets to {str(state_dir)!r}: {exc.strerror or exc}"
            raise InputError(Problem(self.config_source, msg, field="state_dir")) from None
        return OffsetStore(state_dir)

    def _remove(self, name: str) -> None:
        src = self.sources.pop(name)
        if src.task is not None:
            src.task.cancel()
        # Its lines stay in the traffic counters, which the next scrape shows: save where it really is, so
        # adding it back (a later reload) does not count them twice.
        if (position := src.follower.position()) is not None:
            src.exposed = position
        self._save(src)
        src.follower.close()

    async def stop(self) -> None:
        tasks = [s.task for s in self.sources.values() if s.task is not None]
        if self._persister is not None:
            tasks.append(self._persister)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._persister = None
        for src in self.sources.values():
            src.task = None
            self._save(src)
            src.follower.close()

    # -- reading --------------------------------------------------------------------------------------------

    async def _follow(self, src: Source) -> None:
        while True:
            try:
                await self.poll(src)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the source for good: logged, retried next round
                log.exception("log source %s: polling failed", src.config.name)
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self, src: Source) -> None:
        """One polling round: rotation checks, then read and count up to the end of the file."""
        follower = src.follower
        try:
            if rest := follower.check():
                self._count(src, rest)
            if src.exposed is None and (start := follower.position()) is not None:
                src.exposed = start  # persist where a new file starts before counting anything of it
                self._notify()
            budget = READ_BUDGET
            while (block := follower.read_block()) is not None:
                self._count(src, block)
                budget -= follower.max_line
                if budget <= 0:
                    await asyncio.sleep(0)
                    budget = READ_BUDGET
            src.last_error = ""
        except OSError as exc:
            message = f"{exc.strerror or exc}: {exc.filename or src.config.path}"
            if message != src.last_error:
                log.warning("log source %s: %s", src.config.name, message)
                src.last_error = message
            follower.up = False

    def _count(self, src: Source, block: bytes) -> None:
        """Count a block (and the over-long lines the follower dropped) in one step: no await in here."""
        follower = src.follower
        if block:
            tally = src.parse(block)
            config = src.config
            for value, n in tally.values.items():
                self.traffic.add(config.kind, config.service, value, n)
            for reason, n in tally.rejected.items():
                src.rejected[reason] += n
            src.lines += tally.lines
        if follower.too_long:
            src.rejected["too_long"] += follower.too_long
            src.lines += follower.too_long
            follower.too_long = 0

    # -- persistence ----------------------------------------------------------------------------------------

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _persist_loop(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            for src in list(self.sources.values()):
                position = src.exposed
                if position is not None and position != src.saved and self.store is not None:
                    try:
                        await loop.run_in_executor(None, self.store.save, src.config.name, position)
                        src.saved = position
                    except OSError as exc:
                        log.error("cannot save the read offset of %s: %s", src.config.name, exc)

    def _save(self, src: Source) -> None:
        if src.exposed is not None and src.exposed != src.saved and self.store is not None:
            try:
                self.store.save(src.config.name, src.exposed)
                src.saved = src.exposed
            except OSError as exc:
                log.error("cannot save the read offset of %s: %s", src.config.name, exc)

    # -- exposition -----------------------------------------------------------------------------------------

    def render(self, openmetrics: bool) -> list[str]:
        """The log-source families; snapshots each position together with the counters being exposed."""
        if not self.sources:
            return []
        changed = False
        lines, rejected, up, rotations = [LINES.header(openmetrics)], [REJECTED.header(openmetrics)], [], []
        up.append(UP.header(openmetrics))
        rotations.append(ROTATIONS.header(openmetrics))
        for name, src in self.sources.items():
            position = src.follower.position()
            if position is not None and position != src.exposed:
                src.exposed, changed = position, True
            label = f'source="{escape(name)}"'
            lines.append(f"{LINES.name}{{{label}}} {src.lines}\n")
            for reason, n in src.rejected.items():
                rejected.append(f'{REJECTED.name}{{{label},reason="{reason}"}} {n}\n')
            up.append(f"{UP.name}{{{label}}} {int(src.follower.up)}\n")
            rotations.append(f"{ROTATIONS.name}{{{label}}} {src.follower.rotations}\n")
        if changed:
            self._notify()
        return ["".join(lines), "".join(rejected), "".join(up), "".join(rotations)]
