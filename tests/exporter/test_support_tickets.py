"""Support tickets in the real exporter process: events API `ticket` events and a `tickets` log source feed one
durable book per service; a restart (which re-reads the file from the last scraped offset) counts nothing twice."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from tests.exporter.procs import REPO, ExporterProcess
from tests.exporter.targets import free_port
from tests.exporter.webhooks.helpers import EVENTS_TOKEN, events_block, write_config

NY = ZoneInfo("America/New_York")
SPEC = REPO / "rules" / "specs" / "erp-api.yaml"  # its support section: 1 h response in support hours
# Yesterday at 10:00 New York (support hours run 07:00-24:00 every day): months older than 40 days count as
# reported and their events are ignored, so the stream is dated relative to now.
_DAY = (datetime.now(NY) - timedelta(days=1)).date()


def _at(hour: int, minute: int) -> str:
    return datetime.combine(_DAY, time(hour, minute), NY).isoformat()


CREATED = {"id": "e1", "type": "created", "ticket": "T-1", "priority": "urgent", "at": _at(10, 0)}
ACK_IN_TIME = {"id": "e2", "type": "acknowledged", "ticket": "T-1", "at": _at(10, 40)}
CREATED_2 = {"id": "e3", "type": "created", "ticket": "T-2", "priority": "high", "at": _at(11, 0)}
ACK_LATE = {"id": "e4", "type": "acknowledged", "ticket": "T-2", "at": _at(12, 30)}


def tickets(s, target: str, outcome: str, priority: str) -> float:  # type: ignore[no-untyped-def]
    labels = {"service": "erp-api", "priority": priority, "target": target, "outcome": outcome}
    return s.get("slakit_support_tickets_total", **labels)


def config(tmp_path: Path, port: int) -> Path:
    events = events_block(tmp_path, port)
    return write_config(
        tmp_path / "exporter.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "events_api": events,
            "support_tickets": [{"spec": str(SPEC)}],
            "sources": [
                {
                    "name": "helpdesk",
                    "service": "erp-api",
                    "kind": "tickets",
                    "format": "json",
                    "path": str(tmp_path / "tickets.jsonl"),
                    "start_at": "beginning",
                }
            ],
            "probes": [],
        },
    )


async def post(session: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {EVENTS_TOKEN.decode()}"}
    async with session.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_events_api_and_file_source_feed_one_durable_book(tmp_path: Path) -> None:
    port, extra = free_port(), free_port()
    path = config(tmp_path, extra)
    log = tmp_path / "tickets.jsonl"
    log.write_text(json.dumps(CREATED) + "\n" + "not json\n")
    events_url = f"http://127.0.0.1:{extra}/api/v1/events"
    proc = ExporterProcess(path, port)
    try:
        async with aiohttp.ClientSession() as session:
            await proc.wait_ready(session)
            s = await proc.wait_for(
                session, lambda s: s.get("slakit_support_open_tickets", service="erp-api", priority="urgent") == 1
            )
            assert s.get("slakit_log_lines_rejected_total", source="helpdesk", reason="malformed") == 1
            assert tickets(s, "response", "met", "urgent") == 0  # every outcome exists at 0 from the start

            ack = {"type": "ticket", "service": "erp-api", "event": "acknowledged", **_without(ACK_IN_TIME, "type")}
            assert await post(session, events_url, ack) == (202, {"accepted": 1})
            assert await post(session, events_url, ack) == (202, {"accepted": 1})  # same id: ignored by the book
            bad = {**ack, "id": "e9", "ticket": "T-404"}
            status, body = await post(session, events_url, bad)
            assert status == 409 and "unknown ticket 'T-404'" in body["error"]
            status, body = await post(session, events_url, {**ack, "event": "closed"})
            assert (status, body["field"]) == (422, "event")
            s = await proc.wait_for(session, lambda s: tickets(s, "response", "met", "urgent") == 1)
            assert tickets(s, "response", "breached", "urgent") == 0
        assert proc.stop() == 0
        # While stopped, the helpdesk appends; the restarted exporter re-reads from the last scraped offset.
        with log.open("a") as f:
            f.write(json.dumps(CREATED_2) + "\n" + json.dumps(ACK_LATE) + "\n")
        proc = ExporterProcess(path, port)
        async with aiohttp.ClientSession() as session:
            await proc.wait_ready(session)
            s = await proc.wait_for(session, lambda s: tickets(s, "response", "breached", "high") == 1)
            assert tickets(s, "response", "met", "urgent") == 1  # from the book's journal, not counted again
            assert s.get("slakit_support_open_tickets", service="erp-api", priority="urgent") == 1
            assert s.get("slakit_support_open_tickets", service="erp-api", priority="high") == 1
    finally:
        proc.stop()
    assert "evtok" not in (tmp_path / "exporter.log").read_text()


def _without(event: dict, key: str) -> dict:
    return {k: v for k, v in event.items() if k != key}


def test_tickets_source_without_a_support_entry_is_refused(tmp_path: Path) -> None:
    path = config(tmp_path, free_port())
    text = path.read_text().replace(f"support_tickets:\n- spec: {SPEC}\n", "")
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "slakit", "check", "--exporter-config", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "sources[0]: service 'erp-api' has no support_tickets entry" in done.stderr


def test_spec_without_support_section_is_refused(tmp_path: Path) -> None:
    path = config(tmp_path, free_port())
    path.write_text(path.read_text().replace(str(SPEC), str(REPO / "rules" / "specs" / "employee-records.yaml")))
    done = subprocess.run(
        [sys.executable, "-m", "slakit", "check", "--exporter-config", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "support_tickets[0]" in done.stderr and "needs a `support:` section" in done.stderr
