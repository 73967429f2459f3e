"""The follower on real files: partial and over-long lines, truncation, rename rotation, saved positions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slakit.exporter.sources.follower import ROTATE_QUIET, Follower
from slakit.exporter.sources.offsets import OffsetStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(f: Follower) -> list[bytes]:
    """One polling round; the complete lines handed out."""
    lines: list[bytes] = []
    rest = f.check()
    while True:
        lines += rest.split(b"\n")[:-1]
        rest = f.read_block()
        if rest is None:
            return lines


def write(path: Path, text: str | bytes, mode: str = "ab") -> None:
    with path.open(mode) as fh:
        fh.write(text.encode() if isinstance(text, str) else text)


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write(log, "one\ntw")
    f = Follower(log, 1024, "beginning")
    assert drain(f) == [b"one"]
    assert f.position().offset == 4  # type: ignore[union-attr]
    write(log, "o\nthree")
    assert drain(f) == [b"two"]
    write(log, "\n")
    assert drain(f) == [b"three"]
    assert drain(f) == []


def test_start_at_end_skips_history_and_a_half_written_line(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write(log, "old\nold\nhalf")
    f = Follower(log, 1024, "end")
    assert drain(f) == []
    write(log, "-written\nnew\n")
    assert drain(f) == [b"new"]


def test_over_long_lines_are_dropped_with_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    limit = 1024
    write(log, "a\n" + "x" * (limit + 1) + "\nb\n" + "y" * (50 * limit) + "\nc\n" + "z" * limit + "\n")
    f = Follower(log, limit, "beginning")
    lines, biggest = [], 0
    f.check()
    while (blk := f.read_block()) is not None:
        biggest = max(biggest, len(blk), len(f.tail))
        lines += blk.splitlines()
    assert lines == [b"a", b"b", b"c", b"z" * limit]  # exactly `limit` bytes is allowed
    assert f.too_long == 2
    assert biggest <= 2 * limit


def test_over_long_unterminated_tail_is_dropped_then_skipped_to_its_end(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    f = Follower(log, 1024, "beginning")
    write(log, "ok\n" + "x" * 3000)
    assert drain(f) == [b"ok"]
    assert (f.too_long, f.skipping) == (1, True)
    write(log, "x" * 3000 + "\nnext\n")
    assert drain(f) == [b"next"]
    assert f.too_long == 1  # counted once


def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write(log, "1\n2\n3\n")
    f = Follower(log, 1024, "beginning")
    assert drain(f) == [b"1", b"2", b"3"]
    os.truncate(log, 0)
    write(log, "4\n")
    assert drain(f) == [b"4"]
    assert f.rotations == 1


def test_copytruncate_finishes_the_copy_first(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    clock = Clock()
    write(log, "1\n2\n")
    f = Follower(log, 1024, "beginning", clock=clock)
    assert drain(f) == [b"1", b"2"]
    write(log, "3\n4\npart")  # written, not read yet, when logrotate copies and truncates
    shutil.copyfile(log, tmp_path / "a.log.1")
    os.truncate(log, 0)
    write(log, "5\n")
    assert drain(f) == [b"3", b"4"]  # the rest of the copy
    clock.now += ROTATE_QUIET
    assert drain(f) == [b"part", b"5"]
    assert f.rotations == 1


def test_truncated_and_regrown_past_the_offset_is_seen_by_its_first_bytes(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write(log, "first 1\n")
    f = Follower(log, 1024, "beginning")
    assert drain(f) == [b"first 1"]
    with log.open("r+b") as fh:  # truncate and write more than before before the follower looks again
        fh.truncate(0)
        fh.write(b"second 1\nsecond 2\n")
    assert drain(f) == [b"second 1", b"second 2"]
    assert f.rotations == 1


def test_rename_rotation_finishes_the_old_file_first(tmp_path: Path) -> None:
    log, old = tmp_path / "a.log", tmp_path / "a.log.1"
    clock = Clock()
    write(log, "1\n")
    f = Follower(log, 1024, "beginning", clock=clock)
    assert drain(f) == [b"1"]
    log.rename(old)
    write(log, "new 1\n")
    write(old, "2\nunterminated")  # the writer has not reopened yet
    assert drain(f) == [b"2"]
    assert drain(f) == []  # the old file is quiet now, but not for long enough
    clock.now += ROTATE_QUIET
    assert drain(f) == [b"unterminated", b"new 1"]
    assert f.rotations == 1 and f.up


def test_deleted_file_is_picked_up_again_when_recreated(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    clock = Clock()
    f = Follower(log, 1024, "end", clock=clock)
    assert drain(f) == [] and not f.up  # missing: retried every round
    write(log, "1\n")
    assert drain(f) == [b"1"]  # a file that appears later is all new: read from 0
    log.unlink()
    assert drain(f) == [] and not f.up
    write(log, "2\n")
    assert drain(f) == []
    clock.now += ROTATE_QUIET
    assert drain(f) == [b"2"] and f.up


def test_saved_position_resumes_exactly(tmp_path: Path) -> None:
    log, state = tmp_path / "a.log", tmp_path / "state"
    state.mkdir()
    store = OffsetStore(state)
    write(log, "1\n2\npart")
    f = Follower(log, 1024, "end")
    f.start_at = "beginning"
    assert drain(f) == [b"1", b"2"]
    store.save("s", f.position())  # type: ignore[arg-type]
    f.close()
    write(log, "ial\n3\n")
    g = Follower(log, 1024, "end", store.load("s"))
    assert drain(g) == [b"partial", b"3"]
    assert list(state.iterdir()) == [state / "s.offset.json"]  # no temp file left behind


def test_saved_position_of_a_file_rotated_while_stopped(tmp_path: Path) -> None:
    log, state = tmp_path / "a.log", tmp_path / "state"
    state.mkdir()
    store = OffsetStore(state)
    clock = Clock()
    write(log, "1\n")
    f = Follower(log, 1024, "beginning", clock=clock)
    assert drain(f) == [b"1"]
    store.save("s", f.position())  # type: ignore[arg-type]
    f.close()
    write(log, "2\n")
    log.rename(tmp_path / "a.log.1")
    write(log, "3\n")
    g = Follower(log, 1024, "end", store.load("s"), clock=clock)
    assert drain(g) == [b"2"]
    clock.now += ROTATE_QUIET
    assert drain(g) == [b"3"]


def test_saved_position_of_a_file_truncated_while_stopped(tmp_path: Path) -> None:
    log, state = tmp_path / "a.log", tmp_path / "state"
    state.mkdir()
    store = OffsetStore(state)
    write(log, "old 1\nold 2\n")
    f = Follower(log, 1024, "beginning")
    assert len(drain(f)) == 2
    store.save("s", f.position())  # type: ignore[arg-type]
    f.close()
    with log.open("r+b") as fh:
        fh.truncate(0)
        fh.write(b"new 1\nnew 2\nnew 3\n")
    g = Follower(log, 1024, "end", store.load("s"))
    assert drain(g) == [b"new 1", b"new 2", b"new 3"]


def test_unreadable_offset_file_is_ignored(tmp_path: Path) -> None:
    store = OffsetStore(tmp_path)
    store.file("s").write_text("{not json")
    assert store.load("s") is None
    assert store.load("missing") is None


def test_unreadable_file_keeps_the_saved_position_until_it_can_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "a.log"
    write(log, "1\n2\n")
    f = Follower(log, 1024, "beginning")
    assert drain(f) == [b"1", b"2"]
    saved = f.position()
    f.close()
    write(log, "3\n")
    g = Follower(log, 1024, "end", saved)

    def refuse(path: Path, at: int) -> None:  # EACCES simulated: the suite runs as root, whom chmod 000 won't stop
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(g, "_open", refuse)
    with pytest.raises(PermissionError):
        g.check()
    monkeypatch.undo()  # readable again: the saved position still applies (not start_at, not 0)
    assert drain(g) == [b"3"]


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=2500).map(lambda b: b.replace(b"\n", b"")), max_size=25),
    cuts=st.lists(st.integers(1, 4000), max_size=30),
)
def test_property_lines_come_out_exactly_once_whatever_the_write_pieces(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], cuts: list[int]
) -> None:
    """Written in arbitrary pieces and polled between pieces: every line ≤ the limit comes out once, in order,
    every longer line is counted as too long, and nothing else comes out."""
    limit = 1024
    log = tmp_path_factory.mktemp("prop") / "a.log"
    data = b"".join(line + b"\n" for line in lines)
    f = Follower(log, limit, "beginning")
    out: list[bytes] = []
    pos = 0
    for cut in [*cuts, len(data)]:
        write(log, data[pos : pos + cut])
        pos += cut
        out += drain(f)
        if pos >= len(data):
            break
    out += drain(f)
    assert out == [line for line in lines if len(line) <= limit]
    assert f.too_long == sum(1 for line in lines if len(line) > limit)
    assert f.position().offset == len(data)  # type: ignore[union-attr]
