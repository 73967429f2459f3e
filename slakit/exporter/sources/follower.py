"""Follow one log file: hand out blocks of complete lines, across rotation, truncation and restarts.

Pure and synchronous (the caller decides when to poll and when to yield). Memory is bounded by
`max_line_bytes`: a read is at most that long, an unterminated tail longer than that is dropped (and counted
as one `too_long` line) while the rest of that line is skipped.

* rename rotation (logrotate `create`, nginx reopening on USR1): when another file appears at the path, the
  old one is read to its end and kept open until it has been quiet for ROTATE_QUIET seconds (the writer may
  still append until it reopens), then the new file is read from 0. An unterminated last line of the old file
  is counted as a line.
* truncation (`copytruncate`): the open file became shorter than the read position, or its first bytes
  changed (truncated and already regrown). If the copy lies next to it (same first bytes, e.g.
  `access.log.1`), the rest of the copy is read first, then the file from 0; otherwise the file from 0.
* restart: a saved Position resumes the same file (same device, inode and first bytes) at its offset; if the
  file was rotated meanwhile, the old file is looked up next to the path by inode and finished first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from slakit.exporter.sources.offsets import Position

log = logging.getLogger("slakit.exporter.sources")
HEAD_BYTES = 256  # fingerprint of a file: its first bytes (with device and inode)
ROTATE_QUIET = 1.0  # seconds a renamed file must stay unchanged before the new file at the path is read


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class Follower:
    def __init__(
        self,
        path: Path,
        max_line: int,
        start_at: str = "end",
        saved: Position | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.max_line = max_line
        self.start_at = start_at
        self.saved = saved
        self.clock = clock
        self.fd: int | None = None
        self.ident = (0, 0)
        self.head = b""
        self.head_sha = _sha(b"")
        self.change_key: tuple[int, int] = (-1, -1)
        self.pos = 0  # next byte to read
        self.offset = 0  # just after the last complete line handed out
        self.tail = b""  # bytes of the unterminated line after `offset`
        self.skipping = False  # dropping the rest of an over-long (or, at start_at end, partial) line
        self.first_open = True
        self.last_read = clock()  # when data was last read from the open file
        self.up = False  # the path exists and is being read
        self.rotations = 0
        self.too_long = 0  # over-long lines dropped; the caller takes and resets this

    # -- state ----------------------------------------------------------------------------------------------

    def position(self) -> Position | None:
        """Where the next line starts (None before any file was opened)."""
        if self.fd is None:
            return None
        dev, ino = self.ident
        return Position(str(self.path), dev, ino, len(self.head), self.head_sha, self.offset, self.skipping)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.up = False

    # -- polling --------------------------------------------------------------------------------------------

    def check(self) -> bytes:
        """Call before reading: open the file, detect truncation and rotation. Returns the unterminated last
        line of a finished (rotated) file, with a `\\n` added, to be counted like any block; usually b""."""
        if self.fd is None:
            self._open_first() if self.first_open else self._open_if_exists(0)
            return b""
        st = os.fstat(self.fd)
        if st.st_size < self.pos or not self._head_unchanged(st):
            if self._follow_copy():  # counted as a rotation when the copy is finished, like a rename
                log.info("%s was truncated; finishing its copy first", self.path)
                return b""
            log.info("%s was truncated; reading it again from the start", self.path)
            self.rotations += 1
            self._reset(0)
            return b""
        try:
            cur = os.stat(self.path)
        except OSError:
            cur = None
        self.up = cur is not None
        rest = b""
        renamed = cur is not None and (cur.st_dev, cur.st_ino) != self.ident  # a new file is at the path
        if renamed and st.st_size == self.pos and self.clock() - self.last_read >= ROTATE_QUIET:
            rest = self.tail + b"\n" if self.tail and not self.skipping else b""
            log.info("%s was rotated; reading the new file from the start", self.path)
            self.rotations += 1
            self.close()
            self._open_if_exists(0)
        return rest

    def read_block(self) -> bytes | None:
        """At most `max_line` more bytes → the complete lines among them (maybe b""); None at end of file."""
        if self.fd is None:
            return None
        data = os.pread(self.fd, self.max_line, self.pos)
        if not data:
            return None
        self.pos += len(data)
        self.last_read = self.clock()
        if self.skipping:
            i = data.find(b"\n")
            if i < 0:
                self.offset = self.pos
                return b""
            self.skipping = False
            data = data[i + 1 :]
        buf = self.tail + data if self.tail else data
        k = buf.rfind(b"\n") + 1
        block, tail = buf[:k], buf[k:]
        if len(tail) > self.max_line:
            self.too_long += 1
            tail, self.skipping = b"", True
        self.tail = tail
        self.offset = self.pos - len(tail)
        # Only the first line can be too long: it may continue the old tail; the others fit in `data`.
        if block and (j := block.find(b"\n")) > self.max_line:
            self.too_long += 1
            block = block[j + 1 :]
        return block

    # -- opening --------------------------------------------------------------------------------------------

    def _open_first(self) -> None:
        """Open the file as the saved position or `start_at` says. An error other than a missing file (say,
        no permission yet) leaves both in place for the next round."""
        try:
            self._open_as_saved(self.saved)
        except OSError:
            self.close()
            raise
        self.first_open, self.saved = False, None

    def _open_as_saved(self, saved: Position | None) -> None:
        if saved is not None and saved.path != str(self.path):
            saved = None  # the config points at another file now
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        if saved is None:
            if st is not None:
                self._open(self.path, st.st_size if self.start_at == "end" else 0)
                if self.offset > 0 and os.pread(self.fd, 1, self.offset - 1) != b"\n":  # type: ignore[arg-type]
                    self.skipping = True  # a writer is in the middle of a line: start with the next one
            return
        if st is not None and (st.st_dev, st.st_ino) == (saved.dev, saved.ino):
            self._open(self.path, 0)
            if self._matches(saved):
                self._resume(saved)
            else:
                log.info("%s was truncated while the exporter was stopped; reading it from the start", self.path)
            return
        for candidate in self._siblings():
            try:
                cst = os.stat(candidate)
            except OSError:
                continue
            if (cst.st_dev, cst.st_ino) == (saved.dev, saved.ino):
                self._open(candidate, 0)
                if self._matches(saved):
                    log.info("%s was rotated while stopped; finishing %s first", self.path, candidate)
                    self._resume(saved)
                    return
                self.close()
        log.info("%s is not the file read before; reading it from the start", self.path)
        self._open_if_exists(0)

    def _follow_copy(self) -> bool:
        """copytruncate: if a copy of the file (same first bytes, at least as long as what was read) lies next
        to it, continue in the copy from the same position; the rename logic then moves on to the path."""
        if not self.head:
            return False
        for candidate in self._siblings():
            try:
                fd = os.open(candidate, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            st = os.fstat(fd)
            other, long_enough = (st.st_dev, st.st_ino) != self.ident, st.st_size >= self.pos
            if other and long_enough and os.pread(fd, len(self.head), 0) == self.head:
                assert self.fd is not None
                os.close(self.fd)
                self.fd, self.ident = fd, (st.st_dev, st.st_ino)
                self.change_key = (st.st_size, st.st_mtime_ns)
                return True
            os.close(fd)
        return False

    def _siblings(self) -> list[Path]:
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return []
        base = self.path.name
        return [self.path.parent / n for n in sorted(names) if n != base and n.startswith(base)]

    def _matches(self, saved: Position) -> bool:
        assert self.fd is not None
        size = os.fstat(self.fd).st_size
        return size >= saved.offset and _sha(os.pread(self.fd, saved.head_len, 0)) == saved.head_sha

    def _resume(self, saved: Position) -> None:
        self.pos = self.offset = saved.offset
        self.skipping = saved.skipping

    def _open_if_exists(self, at: int) -> None:
        try:
            self._open(self.path, at)
        except FileNotFoundError:
            self.up = False

    def _open(self, path: Path, at: int) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(fd)
        self.fd, self.ident = fd, (st.st_dev, st.st_ino)
        self.up = True
        self._reset(at)

    def _reset(self, at: int) -> None:
        assert self.fd is not None
        st = os.fstat(self.fd)
        self.change_key = (st.st_size, st.st_mtime_ns)
        self.head = os.pread(self.fd, HEAD_BYTES, 0)
        self.head_sha = _sha(self.head)
        self.pos = self.offset = at
        self.tail, self.skipping, self.last_read = b"", False, self.clock()

    def _head_unchanged(self, st: os.stat_result) -> bool:
        """False when the first bytes changed (truncated and written again); re-read only after a change."""
        key = (st.st_size, st.st_mtime_ns)
        if key == self.change_key:
            return True
        self.change_key = key
        assert self.fd is not None
        now = os.pread(self.fd, HEAD_BYTES, 0)
        if now[: len(self.head)] != self.head:
            return False
        if len(now) > len(self.head):
            self.head, self.head_sha = now, _sha(now)
        return True
