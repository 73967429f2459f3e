"""Log sources in a real exporter process: rotation while writing, restarts, a 50 MB log, exact totals."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import aiohttp

from tests.exporter.conftest import Samples
from tests.exporter.procs import ExporterProcess
from tests.exporter.targets import free_port

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
STATUSES = (200, 201, 204, 301, 404, 429, 500, 503, 101)


def status_of(i: int) -> int:
    return STATUSES[(i * 7 + i // 13) % len(STATUSES)]


def line(i: int) -> str:
    return (
        f'198.51.100.{i % 250} - - [23/Nov/2026:18:14:45 +0000] "POST /api/v1/orders/{i} HTTP/1.1" '
        f'{status_of(i)} {i % 9000} "https://erp.example.com/" "client/{i % 7}"\n'
    )


def expected(indexes: range | list[int]) -> dict[str, int]:
    found = Counter(f"{status_of(i) // 100}xx" for i in indexes)
    return {cls: found[cls] for cls in CLASSES}


def config(tmp_path: Path, log: Path, **extra: str) -> Path:
    path = tmp_path / "exporter.yaml"
    options = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    path.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        "probes: []\n"
        "sources:\n"
        "  - name: erp-access\n"
        "    service: erp-api\n"
        "    kind: requests\n"
        f"    path: {log}\n"
        "    start_at: beginning\n" + options
    )
    return path


def requests(s: Samples) -> dict[str, int]:
    return {cls: int(s.get("slakit_requests_total", service="erp-api", code_class=cls)) for cls in CLASSES}


def lines_read(s: Samples) -> int:
    return int(s.get("slakit_log_lines_total", source="erp-access"))


async def run_until(
    cfg: Path, session: aiohttp.ClientSession, check, work=None, timeout: float = 60
) -> tuple[Samples, ExporterProcess]:  # type: ignore[no-untyped-def]
    exporter = ExporterProcess(cfg, free_port())
    try:
        await exporter.wait_ready(session)
        if work is not None:
            await work(exporter)
        samples = await exporter.wait_for(session, check, timeout=timeout)
    finally:
        exporter.stop()
    return samples, exporter


async def test_rename_and_truncate_rotation_while_writing_counts_every_line(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    cfg = config(tmp_path, log)
    total, rotate_every = 7500, 1500
    done = threading.Event()
    waiting, caught_up = threading.Event(), threading.Event()
    truncate_at = 3000  # the writer waits for the exporter, then truncates without a copy
    copytruncate_at = 4500  # logrotate copytruncate while the exporter may still be behind

    def writer() -> None:
        fh = log.open("a", buffering=1)
        n_rot, last = 0, time.monotonic()
        for i in range(total):
            burst = copytruncate_at - 200 <= i < copytruncate_at  # written at once, just before the copy
            if i == copytruncate_at - 200 or (i and i % rotate_every == 0 and i != copytruncate_at):
                done.wait(max(0.0, 1.6 - (time.monotonic() - last)))  # further apart than the quiet time
            if i and i % rotate_every == 0:
                if i == truncate_at:
                    waiting.set()
                    assert caught_up.wait(30), "exporter did not catch up"
                    fh.truncate(0)  # the writer keeps its O_APPEND handle and writes at 0
                elif i == copytruncate_at:
                    shutil.copyfile(log, log.with_name("access.log.copied"))
                    fh.truncate(0)
                else:
                    n_rot += 1
                    fh.close()
                    log.rename(log.with_name(f"access.log.{n_rot}"))  # logrotate `create` + writer reopens
                    fh = log.open("a", buffering=1)
                last = time.monotonic()
            fh.write(line(i))
            if i % 50 == 0 and not burst:
                done.wait(0.005)
        fh.close()
        done.set()

    log.touch()  # the log exists when the exporter starts (a file created and rotated between two polls is missed)
    async with aiohttp.ClientSession() as session:

        async def work(exporter: ExporterProcess) -> None:
            await exporter.wait_for(session, lambda s: s.get("slakit_log_source_up", source="erp-access") == 1)
            thread = threading.Thread(target=writer, daemon=True)
            thread.start()
            while not done.is_set():
                s = await exporter.samples(session)
                if waiting.is_set() and lines_read(s) == truncate_at:
                    caught_up.set()
                await asyncio.sleep(0.05)
            thread.join()

        s, _ = await run_until(cfg, session, lambda s: lines_read(s) == total, work)
    assert requests(s) == expected(range(total))
    assert s.get("slakit_log_source_rotations_total", source="erp-access") == 4  # 2 renames, 2 truncations
    assert s.get("slakit_log_lines_rejected_total", source="erp-access", reason="malformed") == 0


async def test_restart_mid_file_neither_loses_nor_double_counts(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    cfg = config(tmp_path, log)
    log.write_text("".join(map(line, range(1000))) + line(1000)[:40])  # ends in the middle of a line
    async with aiohttp.ClientSession() as session:
        first, _ = await run_until(cfg, session, lambda s: lines_read(s) == 1000)
        assert requests(first) == expected(range(1000))

        with log.open("a") as fh:  # while stopped: the rest of the half line, and more
            fh.write(line(1000)[40:] + "".join(map(line, range(1001, 1500))))

        # a run that is stopped before anyone scraped it: whatever it counted was never seen by Prometheus,
        # so its offset must not move, and the next run counts those lines again
        quiet = ExporterProcess(cfg, free_port())
        await quiet.wait_ready(session)
        await asyncio.sleep(1)
        assert quiet.stop() == 0

        with log.open("a") as fh:
            fh.write("".join(map(line, range(1500, 2000))))
        second, _ = await run_until(cfg, session, lambda s: lines_read(s) == 1000)

    totals = {cls: requests(first)[cls] + requests(second)[cls] for cls in CLASSES}
    assert totals == expected(range(2000))
    assert second.get("slakit_log_lines_rejected_total", source="erp-access", reason="malformed") == 0


def rss_kib(pid: int, field: str) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1])
    raise AssertionError(f"no {field} for {pid}")


async def test_a_50_mb_log_is_read_with_flat_memory(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    big = tmp_path / "big.tmp"
    cfg = config(tmp_path, log)
    block = "".join(map(line, range(1000)))
    garbage = "x" * 200_000 + "\n"  # an over-long line in the middle
    with big.open("w") as fh:
        n = 0
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(block)
            n += 1
            if n == 100:
                fh.write(garbage)
    size = big.stat().st_size
    async with aiohttp.ClientSession() as session:
        exporter = ExporterProcess(cfg, free_port())
        try:
            await exporter.wait_ready(session)
            await exporter.wait_for(session, lambda s: s.get("slakit_log_source_up", source="erp-access") == 0)
            before = rss_kib(exporter.proc.pid, "VmRSS")
            os.rename(big, log)  # the whole 50 MB appear at once
            s = await exporter.wait_for(session, lambda s: lines_read(s) == n * 1000 + 1, timeout=120)
            peak = rss_kib(exporter.proc.pid, "VmHWM")
        finally:
            exporter.stop()
    assert size > 50 * 1024 * 1024
    counted = expected(range(1000))
    assert requests(s) == {cls: n * counted[cls] for cls in CLASSES}
    assert s.get("slakit_log_lines_rejected_total", source="erp-access", reason="too_long") == 1
    assert peak - before < 16 * 1024, f"peak RSS grew by {(peak - before) // 1024} MiB reading {size >> 20} MiB"
