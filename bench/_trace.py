"""Run a Python module (the exporter) with stall tracing: `python -m bench._trace OUT.json MODULE ARGS...`.

Records, in the traced process itself, at low cost:
* every garbage-collector run that took >= 1 ms (gc.callbacks): time, generation, duration, objects collected;
* every event-loop callback that ran >= 10 ms (asyncio.events.Handle._run timed), with the callback's repr
  and the thread CPU time it used (wall >> CPU means the loop thread waited for the GIL or a core);
* every loop iteration (BaseEventLoop._run_once) whose busy part (everything but the wait in select())
  took >= 50 ms: the loop can be blocked by many short callbacks back to back, or be descheduled between
  callbacks, without any single callback being slow;
and writes them as JSON to OUT.json when the process exits (SIGTERM included). Used by
`python -m bench exporter_scale --trace` to explain /metrics latency and event-loop lag.

Experiments on the GC without editing the exporter (environment variables):
* BENCH_GC_FREEZE_AFTER=S: S seconds after start, gc.collect() then gc.freeze() (startup objects move to the
  permanent generation, so later full collections do not traverse them);
* BENCH_GC_THRESHOLD=a,b,c: gc.set_threshold(a, b, c) at start.
"""

from __future__ import annotations

import asyncio.base_events
import asyncio.events
import atexit
import gc
import json
import os
import runpy
import signal
import sys
import threading
import time

GC_MIN_S = 0.001
CALLBACK_MIN_S = 0.010

gc_runs: list[dict] = []
slow_callbacks: list[dict] = []
_gc_start = [0.0]


def _on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
        return
    took = time.perf_counter() - _gc_start[0]
    if took >= GC_MIN_S:
        gc_runs.append({"t": time.time(), "gen": info["generation"], "ms": 1000 * took, "collected": info["collected"]})


_original_run = asyncio.events.Handle._run
_original_run_once = asyncio.base_events.BaseEventLoop._run_once
ITERATION_MIN_S = 0.050
slow_iterations: list[dict] = []
_select_time = [0.0]
_callbacks_run = [0]


def _timed_run_once(self) -> None:
    selector = self._selector
    if not getattr(selector, "_bench_timed", False):
        original_select = selector.select

        def select(timeout=None):
            t = time.perf_counter()
            try:
                return original_select(timeout)
            finally:
                _select_time[0] += time.perf_counter() - t

        selector.select = select
        selector._bench_timed = True
    _select_time[0] = 0.0
    _callbacks_run[0] = 0
    t0, c0 = time.perf_counter(), time.thread_time()
    _original_run_once(self)
    busy = time.perf_counter() - t0 - _select_time[0]
    if busy >= ITERATION_MIN_S:
        slow_iterations.append(
            {
                "t": time.time(),
                "busy_ms": 1000 * busy,
                "cpu_ms": 1000 * (time.thread_time() - c0),  # includes the select() syscall, negligible
                "callbacks": _callbacks_run[0],
            }
        )


def _timed_run(self) -> None:
    _callbacks_run[0] += 1
    t0, c0 = time.perf_counter(), time.thread_time()
    _original_run(self)
    took = time.perf_counter() - t0
    if took >= CALLBACK_MIN_S:
        cpu = time.thread_time() - c0  # much less than `took`: the thread waited (GIL, CPU contention)
        slow_callbacks.append({"t": time.time(), "ms": 1000 * took, "cpu_ms": 1000 * cpu, "callback": _describe(self)})


def _describe(handle) -> str:
    """The task's coroutine (where it is suspended now) for task steps; the handle's repr otherwise."""
    owner = getattr(handle._callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        frame = getattr(coro, "cr_frame", None)
        where = f" @ {frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}" if frame else ""
        return f"task {owner.get_name()!r} {getattr(coro, '__qualname__', coro)}{where}"[:300]
    return repr(handle)[:300]


experiments: dict = {}


def _freeze() -> None:
    tracked = len(gc.get_objects())
    gc.collect()
    gc.freeze()
    experiments["freeze"] = {"t": time.time(), "tracked_before": tracked, "frozen": gc.get_freeze_count()}


def _dump(path: str) -> None:
    counts = [gc.get_count(), [len(gc.get_objects(g)) for g in range(3)], gc.get_freeze_count()]
    with open(path, "w") as fh:
        json.dump(
            {
                "gc": gc_runs,
                "slow_callbacks": slow_callbacks,
                "slow_iterations": slow_iterations,
                "gc_count_objects_frozen": counts,
                "gc_threshold": gc.get_threshold(),
                "experiments": experiments,
            },
            fh,
        )


def main() -> None:
    out, module, *args = sys.argv[1:]
    gc.callbacks.append(_on_gc)
    asyncio.events.Handle._run = _timed_run
    asyncio.base_events.BaseEventLoop._run_once = _timed_run_once
    atexit.register(_dump, out)
    if os.environ.get("BENCH_GC_THRESHOLD"):
        gc.set_threshold(*(int(x) for x in os.environ["BENCH_GC_THRESHOLD"].split(",")))
    if os.environ.get("BENCH_GC_FREEZE_AFTER"):
        timer = threading.Timer(float(os.environ["BENCH_GC_FREEZE_AFTER"]), _freeze)
        timer.daemon = True
        timer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the exporter may install its own handler
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
