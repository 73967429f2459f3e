"""The webhook round trip against a real fake API on 127.0.0.1, through the in-process Exporter and its real
receiver: on time, late, never, to another replica, bad signature, rotated key, stale, replayed, mismatch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from slakit.exporter.runtime import Exporter
from tests.exporter.conftest import Samples
from tests.exporter.targets import free_port
from tests.exporter.webhooks.fakeapi import FakeAPI
from tests.exporter.webhooks.helpers import (
    CURRENT_KEY,
    PREVIOUS_KEY,
    receiver_block,
    roundtrip_probe,
    write_config,
)

MODES = ("on_time", "never", "elsewhere", "bad_signature", "previous_key", "stale", "replayed", "mismatch", "fail")


async def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    for _ in range(int(timeout * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Exporter, Exporter, FakeAPI]]:
    api = await FakeAPI(CURRENT_KEY, PREVIOUS_KEY, delay=1.5).start()
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    probes = [roundtrip_probe(api.url, mode) for mode in MODES]
    probes.append(roundtrip_probe(api.url, "late", timeout="1s"))
    port_a, port_b = free_port(), free_port()
    a = Exporter(
        write_config(
            a_dir / "a.yaml", {"webhook_receiver": receiver_block(a_dir, port_a, "replica-a"), "probes": probes}
        )
    )
    # a second replica with the same probes, as behind one Service; only its receiver is used here
    b = Exporter(
        write_config(
            b_dir / "b.yaml", {"webhook_receiver": receiver_block(b_dir, port_b, "replica-b"), "probes": probes}
        )
    )
    await a.start(schedule=False)
    await b.start(schedule=False)
    api.elsewhere = f"http://127.0.0.1:{port_b}/webhooks"
    yield a, b, api
    await api.stop()
    await a.stop()
    await b.stop()


async def test_every_delivery_case(setup: tuple[Exporter, Exporter, FakeAPI]) -> None:
    a, b, api = setup
    results = {}
    for mode in (*MODES, "late"):
        results[mode] = await a.probe_once(("erp-api", mode.replace("_", "-")))
    reasons = {mode: (r.success, r.reason) for mode, r in results.items()}
    assert reasons == {
        "on_time": (True, None),
        "previous_key": (True, None),  # rotation: the previous key is still accepted
        "replayed": (True, None),  # the first copy completes the probe; the second is refused below
        "never": (False, "timeout"),
        "late": (False, "timeout"),
        "elsewhere": (False, "timeout"),  # the sender cannot know; the other replica counts it (below)
        "bad_signature": (False, "bad_signature"),
        "stale": (False, "stale"),
        "mismatch": (False, "mismatch"),
        "fail": (False, "trigger_failed"),
    }
    assert "http_status" in results["fail"].detail and results["fail"].status == 500
    assert results["on_time"].status == 201  # the trigger's response

    await eventually(lambda: a.endpoints.hub.counts["late"] == 1 and len(api.deliveries) == 9)
    assert a.endpoints.hub.counts == {
        "accepted": 3,  # on_time, previous_key, replayed (first copy)
        "mismatch": 1,
        "bad_signature": 1,
        "stale": 1,
        "malformed": 0,
        "replayed": 1,
        "misrouted": 0,
        "late": 1,
        "unknown": 0,
        "too_large": 0,
    }
    assert b.endpoints.hub.counts["misrouted"] == 1 and sum(b.endpoints.hub.counts.values()) == 1
    statuses = sorted(api.deliveries)
    assert ("elsewhere", 421) in statuses and ("bad_signature", 401) in statuses and ("stale", 400) in statuses
    assert [s for m, s in statuses if m == "replayed"] == [202, 409]

    s = Samples(a.render().decode())
    fail = {"service": "erp-api", "probe": "bad-signature"}
    assert s.get("slakit_probe_failures_total", **fail, reason="bad_signature") == 1
    assert s.get("slakit_probe_failures_total", **fail, reason="trigger_failed") == 0
    assert not s.has("slakit_probe_failures_total", **fail, reason="dns")  # http reasons do not apply here
    assert s.get("slakit_probe_duration_seconds_count", service="erp-api", probe="on-time") == 1
    assert s.get("slakit_probe_http_responses_total", service="erp-api", probe="fail", code_class="5xx") == 1
    assert s.get("slakit_webhook_receptions_total", result="replayed") == 1
    sb = Samples(b.render().decode())
    assert sb.get("slakit_webhook_receptions_total", result="misrouted") == 1


async def test_receptions_exist_at_zero_and_foreign_deliveries_are_classified(
    setup: tuple[Exporter, Exporter, FakeAPI],
) -> None:
    import aiohttp

    from tests.exporter.webhooks.fakeapi import sign

    a, _b, _api = setup
    s = Samples(a.render().decode())
    assert s.series("slakit_webhook_receptions_total") and all(
        v == 0 for v in s.series("slakit_webhook_receptions_total").values()
    )
    assert s.get("slakit_probe_failures_total", service="erp-api", probe="on-time", reason="timeout") == 0
    url = a.endpoints.hub.config.callback_url  # type: ignore[union-attr]
    import time

    ts = str(int(time.time()))

    def signed(body: bytes) -> dict[str, str]:
        return {"X-Timestamp": ts, "X-Signature": sign(CURRENT_KEY, body, ts, True)}

    unknown = b'{"data": {"reference": "slakit-0123456789abcdef0123456789abcdef-replica-a"}}'
    cases = [
        (b'{"data": {}}', signed(b'{"data": {}}'), 400, "malformed"),
        (b"[" * 3000, signed(b"[" * 3000), 400, "malformed"),  # nesting beyond the JSON parser's recursion
        (unknown, signed(unknown), 202, "unknown"),
        (unknown, {"X-Timestamp": ts}, 401, "bad_signature"),  # unsigned
        (unknown, {"X-Timestamp": ts, "X-Signature": "sha256=" + "0" * 64}, 401, "bad_signature"),
        (b"x" * (1024 * 1024 + 1), signed(b"x"), 413, "too_large"),
    ]
    async with aiohttp.ClientSession() as session:
        for body, headers, status, result in cases:
            async with session.post(url, data=body, headers=headers) as resp:
                assert (resp.status, (await resp.json())["result"]) == (status, result)
    for _body, _headers, _status, result in cases:
        assert a.endpoints.hub.counts[result] >= 1
