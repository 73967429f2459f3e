"""Read positions of log sources, one small JSON file per source, replaced atomically."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("slakit.exporter.sources")


@dataclass(frozen=True)
class Position:
    """Where a source stands: which file (device, inode, fingerprint of its first bytes) and the byte offset
    just after the last line counted. `skipping`: inside an over-long line, dropping bytes up to its end."""

    path: str
    dev: int
    ino: int
    head_len: int
    head_sha: str
    offset: int
    skipping: bool = False


class OffsetStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def file(self, name: str) -> Path:
        return self.directory / f"{name}.offset.json"

    def load(self, name: str) -> Position | None:
        """The saved position, or None when there is none (or it is unreadable: logged)."""
        path = self.file(name)
        try:
            data = json.loads(path.read_bytes())
            return Position(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable offset file %s: %s", path, exc)
            return None

    def save(self, name: str, position: Position) -> None:
        """Write a temp file, fsync it, rename it over the old one, fsync the directory."""
        path = self.file(name)
        tmp = path.with_name(f".{path.name}.tmp")
        data = json.dumps(asdict(position), sort_keys=True).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
