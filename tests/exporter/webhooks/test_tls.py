"""The receiver over TLS: a round trip through an HTTPS callback, and a certificate rotated by reload."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from pathlib import Path

from slakit.exporter.runtime import Exporter
from tests.exporter.targets import free_port, make_cert
from tests.exporter.webhooks.fakeapi import FakeAPI
from tests.exporter.webhooks.helpers import CURRENT_KEY, PREVIOUS_KEY, receiver_block, roundtrip_probe, write_config


async def served_cert(port: int, ca: Path) -> str:
    """SHA-256 of the certificate the listener presents to a new, verified TLS connection."""
    ctx = ssl.create_default_context(cafile=str(ca))
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        await writer.wait_closed()
    return hashlib.sha256(der).hexdigest()


async def test_https_receiver_round_trip_and_certificate_rotation(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "receiver")
    port = free_port()
    receiver = receiver_block(tmp_path, port, "replica-a", tls={"cert_file": str(cert), "key_file": str(key)})
    receiver["callback_url"] = f"https://127.0.0.1:{port}/webhooks"
    api = await FakeAPI(CURRENT_KEY, PREVIOUS_KEY, ssl=ssl.create_default_context(cafile=str(cert))).start()
    config = write_config(
        tmp_path / "x.yaml", {"webhook_receiver": receiver, "probes": [roundtrip_probe(api.url, "on_time")]}
    )
    exporter = Exporter(config)
    await exporter.start(schedule=False)
    try:
        assert (await exporter.probe_once(("erp-api", "on-time"))).success
        before = await served_cert(port, cert)

        new_dir = tmp_path / "new"
        new_dir.mkdir()
        new_cert, new_key = make_cert(new_dir, "receiver")
        cert.write_bytes(new_cert.read_bytes())  # rotate in place, as a mounted Secret is updated
        key.write_bytes(new_key.read_bytes())
        assert (await exporter.reload())[0]
        after = await served_cert(port, new_cert)
        assert after != before
        assert after == hashlib.sha256(ssl.PEM_cert_to_DER_cert(new_cert.read_text())).hexdigest()
    finally:
        await exporter.stop()
        await api.stop()
