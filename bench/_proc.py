"""Process accounting from /proc: CPU seconds (utime+stime) and RSS, summed over a process tree."""

from __future__ import annotations

import argparse
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


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of `pid` and its live descendants."""
    user = system = 0.0
    for p in [pid, *children(pid)]:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(p)
            user += int(fields[11]) / CLK_TCK
            system += int(fields[12]) / CLK_TCK
    return user, system


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


def system_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already included in user/nice
    return (sum(fields[:8]) - idle) / CLK_TCK


def self_cpu_seconds() -> float:
    """This process' CPU (all threads): the driver."""
    times = os.times()
    return times.user + times.system


class Background:
    """CPU used by everything *else* on the machine during a window: total busy minus the given processes.

    Other sessions' test runs on a shared 2-core machine skew latency far more than CPU accounting, so every
    result records this, and `wait_quiet` can hold a run until the machine is idle.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.t0 = time.monotonic()
        self.busy0 = system_busy_seconds()
        self.own0 = self._own()

    def _own(self) -> float:
        total = self_cpu_seconds()
        for pid in self.pids:
            with contextlib.suppress(OSError):
                total += tree_cpu_seconds(pid)
        return total

    def cores(self) -> float:
        """Average cores used by other processes since construction."""
        elapsed = time.monotonic() - self.t0
        other = (system_busy_seconds() - self.busy0) - (self._own() - self.own0)
        return max(0.0, other / elapsed) if elapsed > 0 else 0.0


def add_machine_arguments(parser: argparse.ArgumentParser, quiet_when: str) -> None:
    """`--nice` and `--quiet-wait`, shared by the exporter benchmarks (see `niceness`, `wait_quiet`)."""
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="nice value for the driver, nginx and the exporter(s); negative (root) approximates a dedicated "
        "machine on a shared one",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        metavar="S",
        help=f"{quiet_when}, wait up to S s for the machine to be idle (other sessions' jobs)",
    )


def wait_quiet(max_wait: float, threshold: float = 0.25, settle: float = 3.0) -> float:
    """Wait (up to `max_wait` s) until the machine's busy cores stay below `threshold` for `settle` s.

    Returns the busy cores of the last `settle` s (printed and recorded by the caller either way).
    """
    deadline = time.monotonic() + max_wait
    while True:
        t0, b0 = time.monotonic(), system_busy_seconds()
        time.sleep(settle)
        busy = (system_busy_seconds() - b0) / (time.monotonic() - t0)
        if busy < threshold or time.monotonic() >= deadline:
            return busy


@contextlib.contextmanager
def niceness(value: int):
    """Run the block (and every process it starts: nginx, the exporters) at nice `value`, then restore.

    A negative value (root only) lets a latency benchmark approximate a dedicated machine on a shared one.
    """
    before = os.getpriority(os.PRIO_PROCESS, 0)
    if value != before:
        os.setpriority(os.PRIO_PROCESS, 0, value)
    try:
        yield
    finally:
        if value != before:
            os.setpriority(os.PRIO_PROCESS, 0, before)
