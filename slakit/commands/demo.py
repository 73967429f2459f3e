"""`slakit demo`: the whole pipeline on 127.0.0.1, with a fake API that gets a 5xx burst, pages and recovers."""

from __future__ import annotations

import argparse
from pathlib import Path

from slakit.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo: fake API, exporter, Prometheus, Alertmanager, a 5xx burst that pages",
        description="Start a fake ERP API with steady traffic, the slakit exporter as its sidecar, the Debian "
        "Prometheus with the generated rules and the Debian Alertmanager with the generated routing to a local "
        "receiver that prints notifications — all on 127.0.0.1. Backfill 30 days of synthetic history, then "
        "inject a 100% 5xx burst: the api-errors SLO pages; recover: the page resolves. The demo spec's "
        "burn-rate windows are scaled down (page 5m/2m) so this takes minutes. Every process is stopped on exit "
        "and on Ctrl-C.",
    )
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        help="keep configs, logs and Prometheus data here (must be empty or new); default: a temporary "
        "directory removed at exit",
    )
    parser.add_argument("--no-backfill", action="store_true", help="skip the 30 days of synthetic history")
    parser.add_argument(
        "--rate", type=float, default=20.0, metavar="N", help="requests per second of traffic (default 20)"
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="after the scenario, keep everything running until Ctrl-C (to look at Prometheus and Alertmanager)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import shutil
    import tempfile

    from slakit.demo.scenario import Demo, printer

    if not 0 < args.rate <= 500:
        raise InputError("--rate: must be above 0 and at most 500 requests per second")
    if args.workdir:
        workdir = Path(args.workdir)
        if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
            raise InputError(f"--workdir {workdir}: must be an empty directory or not exist yet")
        cleanup = False
    else:
        workdir = Path(tempfile.mkdtemp(prefix="slakit-demo-"))
        cleanup = True
    demo = Demo(workdir, rate=args.rate, say=printer)
    try:
        asyncio.run(_main(demo, not args.no_backfill, args.keep_running))
    except (KeyboardInterrupt, asyncio.CancelledError):
        printer("interrupted: everything is stopped")
        return 130
    except (TimeoutError, RuntimeError, FileNotFoundError) as exc:
        printer(f"slakit demo: failed: {exc}")
        return 1
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            printer(f"configs, logs and data kept in {workdir}")
    return 0


async def _main(demo, with_backfill: bool, keep_running: bool) -> None:  # type: ignore[no-untyped-def]
    """Run the scenario; SIGTERM cancels it like Ctrl-C does, so cleanup always runs."""
    import asyncio
    import signal

    from slakit.demo.scenario import run_scenario

    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    await run_scenario(demo, with_backfill, keep_running)
