"""Durable state of a ticket book: a snapshot plus an append-only JSON-lines journal, both fsync'd.

`journal.jsonl` holds one record per applied event, each with a sequence number `seq`; `snapshot.json` holds
the whole state as of some `seq`. Loading reads the snapshot and replays the journal records after it. A
record half-written by a crash (the last line, without its newline or not valid JSON) is cut off. Compaction
writes a new snapshot (temporary file, fsync, rename, fsync of the directory) and then empties the journal;
a crash between the two leaves records the snapshot already holds, which `seq` skips.

One process at a time: the directory is locked (`flock`) while a journal is open.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.journal_path = self.directory / "journal.jsonl"
        self.snapshot_path = self.directory / "snapshot.json"
        self._lock = open(self.directory / ".lock", "a")  # noqa: SIM115 (held until close())
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise ValueError(f"{self.directory}: state directory is in use by another ticket book") from None
        self._file = None
        self.records = 0  # journal records since the last snapshot

    def load(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The snapshot (or None) and the journal records after it, in order."""
        snapshot = None
        if self.snapshot_path.exists():
            try:
                snapshot = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"{self.snapshot_path}: corrupt snapshot: {exc}") from None
        after = snapshot["seq"] if snapshot else 0
        records: list[dict[str, Any]] = []
        if self.journal_path.exists():
            data = self.journal_path.read_bytes()
            complete = data.rfind(b"\n") + 1  # a tail without its newline is a write a crash cut short
            for number, line in enumerate(data[:complete].split(b"\n")[:-1], start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    seq = int(record["seq"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{self.journal_path}:{number}: corrupt journal record: {exc}") from None
                self.records += 1
                if seq > after:
                    records.append(record)
            if complete < len(data):
                with open(self.journal_path, "r+b") as f:
                    f.truncate(complete)
                    os.fsync(f.fileno())
        return snapshot, records

    def append(self, record: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(self.journal_path, "ab")  # noqa: SIM115 (kept open for appends)
        self._file.write(json.dumps(record, separators=(",", ":"), sort_keys=True).encode() + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records += 1

    def compact(self, snapshot: dict[str, Any]) -> None:
        """Replace the snapshot atomically, then empty the journal."""
        tmp = self.snapshot_path.with_suffix(".json.tmp")
        with open(tmp, "wb") as f:
            f.write(json.dumps(snapshot, separators=(",", ":"), sort_keys=True).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.snapshot_path)
        self._fsync_directory()
        if self._file is not None:
            self._file.close()
            self._file = None
        with open(self.journal_path, "wb") as f:
            os.fsync(f.fileno())
        self._fsync_directory()
        self.records = 0

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._lock.close()
