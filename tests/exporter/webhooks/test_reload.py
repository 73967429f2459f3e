"""Reloads: keys and tokens rotate by rewriting their files; listener addresses are fixed until restart."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from slakit.exporter.runtime import Exporter
from tests.exporter.targets import free_port
from tests.exporter.webhooks.fakeapi import FakeAPI
from tests.exporter.webhooks.helpers import events_block, receiver_block, roundtrip_probe, write_config

OLD, NEW = b"key-before-rotation-1b2c", b"key-after-rotation-9f8e"


async def test_key_rotation_by_reload(tmp_path: Path) -> None:
    port = free_port()
    receiver = receiver_block(tmp_path, port, "replica-a")
    events = events_block(tmp_path, port)  # (writes the default secret files too: before they are changed)
    current = Path(receiver["signature"]["secret_file"])
    previous = Path(receiver["signature"]["previous_secret_file"])
    current.write_bytes(OLD)
    previous.write_bytes(b"some-older-key")
    api = await FakeAPI(current_key=NEW, previous_key=OLD).start()  # the API already signs with the new key
    probes = [roundtrip_probe(api.url, "on_time"), roundtrip_probe(api.url, "previous_key")]
    token_file = Path(events["token_file"])
    config = write_config(tmp_path / "x.yaml", {"webhook_receiver": receiver, "events_api": events, "probes": probes})
    exporter = Exporter(config)
    await exporter.start(schedule=False)
    try:
        assert (await exporter.probe_once(("erp-api", "on-time"))).reason == "bad_signature"
        assert (await exporter.probe_once(("erp-api", "previous-key"))).success  # OLD is still our current key

        current.write_bytes(NEW)  # rotate: the new key becomes current, the old one stays valid as previous
        previous.write_bytes(OLD)
        token_file.write_text("rotated-token-77aa\n")
        assert (await exporter.reload())[0]
        assert (await exporter.probe_once(("erp-api", "on-time"))).success
        assert (await exporter.probe_once(("erp-api", "previous-key"))).success

        previous.write_bytes(b"yet-another-key")  # rotation finished: OLD is no longer accepted
        assert (await exporter.reload())[0]
        assert (await exporter.probe_once(("erp-api", "previous-key"))).reason == "bad_signature"

        url = f"http://127.0.0.1:{port}/api/v1/events"
        event = json.dumps({"type": "menu_sync", "service": "erp-api", "result": "ok"})
        async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}) as session:
            for token, status in (("evtok-5c8e1f2a9d3b7e6041", 401), ("rotated-token-77aa", 202)):
                async with session.post(url, data=event, headers={"Authorization": f"Bearer {token}"}) as resp:
                    assert resp.status == status

        moved = {**receiver, "listen_address": f"127.0.0.1:{free_port()}"}
        write_config(config, {"webhook_receiver": moved, "events_api": events, "probes": probes})
        ok, message = await exporter.reload()
        assert not ok and "restart the exporter" in message and exporter.reload_ok == 0
        assert (await exporter.probe_once(("erp-api", "on-time"))).success  # the old listener still serves

        current.unlink()  # a missing key file: the reload is refused, the running keys stay
        write_config(config, {"webhook_receiver": receiver, "events_api": events, "probes": probes})
        ok, message = await exporter.reload()
        assert not ok and "secret_file" in message and "does not exist" in message
        assert (await exporter.probe_once(("erp-api", "on-time"))).success
    finally:
        await exporter.stop()
        await api.stop()
