"""Process accounting from /proc: CPU seconds (utime+stime) and RSS, summed over a process tree."""

from __future__ import annotations

import contextlib
import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        data = fh.read()
    # The command name is in parentheses and may contain spaces; fields after it are positional.
    return data[data.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """All live descendants of `pid`."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(_stat_fields(int(entry))[1])
            except (OSError, ValueError, IndexError):
                continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """utime+stime of `pid` (all its threads) in seconds."""
    fields = _stat_fields(pid)
    # After the ")": state is field 3 (index 0), so utime (14) and stime (15) are indexes 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def tree_cpu_seconds(pid: int) -> float:
    total = cpu_seconds(pid)
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(child)
    return total


def tree_rss_bytes(pid: int) -> int:
    total = rss_bytes(pid)
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += rss_bytes(child)
    return total


class RssSampler:
    """Samples the RSS of a process tree every `period` seconds in a thread; keeps max and last."""

    def __init__(self, pid: int, period: float = 0.5) -> None:
        self.pid = pid
        self.period = period
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), tree_rss_bytes(self.pid)))
            except OSError:
                return
            self._stop.wait(self.period)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def max_between(self, start: float, end: float) -> int:
        values = [rss for t, rss in self.samples if start <= t <= end]
        return max(values) if values else 0

    @property
    def max(self) -> int:
        return max((rss for _, rss in self.samples), default=0)
