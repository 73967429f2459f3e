"""Log sources inside the Exporter: reload keeps position and counts, removal, unwritable state_dir."""

from __future__ import annotations

from pathlib import Path

from slakit.exporter.runtime import Exporter
from tests.exporter.conftest import Samples

LINE = '192.0.2.1 - - [23/Nov/2026:18:14:45 +0000] "GET /x HTTP/1.1" {status} 5 "-" "t"\n'


def config(tmp_path: Path, state: Path, sources: str) -> Path:
    path = tmp_path / "exporter.yaml"
    path.write_text(f"state_dir: {state}\nprobes: []\nsources:\n{sources}")
    return path


def source(name: str, log: Path, service: str = "erp-api") -> str:
    return f"  - name: {name}\n    service: {service}\n    kind: requests\n    path: {log}\n    start_at: beginning\n"


async def poll_all(exporter: Exporter) -> Samples:
    for src in exporter.sources.sources.values():
        await exporter.sources.poll(src)
    return Samples(exporter.render().decode())


async def test_reload_keeps_position_and_counts_and_drops_removed_sources(tmp_path: Path) -> None:
    a, b, state = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "state"
    a.write_text(LINE.format(status=200) * 3)
    b.write_text(LINE.format(status=500) * 2)
    path = config(tmp_path, state, source("a", a) + source("b", b))
    exporter = Exporter(path)
    await exporter.start(schedule=False)
    try:
        s = await poll_all(exporter)
        assert s.get("slakit_requests_total", service="erp-api", code_class="2xx") == 3
        assert s.get("slakit_requests_total", service="erp-api", code_class="5xx") == 2
        assert s.get("slakit_log_source_up", source="a") == 1

        with b.open("a") as fh:  # counted, and no scrape before `b` is removed
            fh.write(LINE.format(status=502))
        await exporter.sources.poll(exporter.sources.sources["b"])

        # `a` moves to another service; `b` is removed
        config(tmp_path, state, source("a", a, service="shop-api"))
        ok, message = await exporter.reload()
        assert ok, message
        with a.open("a") as fh:
            fh.write(LINE.format(status=404))
        s = await poll_all(exporter)
        assert s.get("slakit_log_lines_total", source="a") == 4  # continued, not re-read
        assert s.get("slakit_requests_total", service="shop-api", code_class="4xx") == 1
        assert s.get("slakit_requests_total", service="erp-api", code_class="2xx") == 3  # never goes back
        assert not s.has("slakit_log_lines_total", source="b")
        assert (state / "b.offset.json").is_file()  # the removed source's position was kept

        # `b` comes back: it resumes where it was removed, nothing is counted twice
        with b.open("a") as fh:
            fh.write(LINE.format(status=503))
        config(tmp_path, state, source("a", a, service="shop-api") + source("b", b))
        ok, message = await exporter.reload()
        assert ok, message
        s = await poll_all(exporter)
        assert s.get("slakit_log_lines_total", source="b") == 1
        assert s.get("slakit_requests_total", service="erp-api", code_class="5xx") == 4

        # an unwritable state_dir fails the reload and changes nothing
        blocker = tmp_path / "blocker"
        blocker.write_text("")
        config(tmp_path, blocker / "state", source("c", b))
        ok, message = await exporter.reload()
        assert not ok and "state_dir: cannot write read offsets" in message
        assert list(exporter.sources.sources) == ["a", "b"]
        assert exporter.reload_ok == 0
    finally:
        await exporter.stop()


async def test_json_sources_with_configured_fields_feed_their_counters(tmp_path: Path) -> None:
    hooks, syncs, state = tmp_path / "hooks.log", tmp_path / "syncs.log", tmp_path / "state"
    hooks.write_text(
        '{"delivery": {"state": "ok"}, "order": 1}\n'
        '{"delivery": {"state": "timeout"}, "order": 2}\n'
        '{"delivery": {"state": "queued"}, "order": 3}\n'
        '{"delivery": "ok"}\n'
    )
    syncs.write_text('{"result": "ok"}\n{"result": "failed"}\n{"result": "ok"}\nnot json\n')
    path = config(
        tmp_path,
        state,
        f"  - name: hooks\n    service: erp-api\n    kind: webhook_deliveries\n    path: {hooks}\n"
        "    format: json\n    fields: {result: delivery.state}\n    start_at: beginning\n"
        "    results: {delivered: [delivered, ok], failed: [failed, error, timeout]}\n"
        f"  - name: syncs\n    service: menu\n    kind: menu_syncs\n    path: {syncs}\n    format: json\n"
        "    start_at: beginning\n",
    )
    exporter = Exporter(path)
    await exporter.start(schedule=False)
    try:
        s = await poll_all(exporter)
    finally:
        await exporter.stop()
    assert s.get("slakit_webhook_deliveries_total", service="erp-api", result="delivered") == 1
    assert s.get("slakit_webhook_deliveries_total", service="erp-api", result="failed") == 1
    assert s.get("slakit_log_lines_rejected_total", source="hooks", reason="unknown_value") == 1
    assert s.get("slakit_log_lines_rejected_total", source="hooks", reason="missing_field") == 1
    assert s.get("slakit_menu_syncs_total", service="menu", result="ok") == 2
    assert s.get("slakit_menu_syncs_total", service="menu", result="failed") == 1
    assert s.get("slakit_log_lines_rejected_total", source="syncs", reason="malformed") == 1
    assert s.get("slakit_log_lines_total", source="syncs") == 4
    assert not s.has("slakit_requests_total", service="menu", code_class="2xx")  # only the kinds configured
