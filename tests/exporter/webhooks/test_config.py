"""Config errors of the webhook probes, the receiver and the events API name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from slakit.errors import InputError
from slakit.exporter.config import load_config
from tests.exporter.webhooks.helpers import events_block, receiver_block, roundtrip_probe, write_config


def problems(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_config(path)
    return str(info.value)


def test_combinations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAKIT_TEST_KEY", "k")
    receiver = receiver_block(tmp_path, 9143, "r")
    probe = roundtrip_probe("http://127.0.0.1:1", "on_time")
    cases = [
        ({"probes": [probe]}, "probes[0]: prober webhook needs a top-level `webhook_receiver:`"),
        (
            {"webhook_receiver": receiver, "probes": [{**probe, "prober": "http"}]},
            "probes[0]: a `webhook:` block is required with prober webhook, and only there",
        ),
        (
            {
                "probes": [
                    {
                        **probe,
                        "prober": "outbound_webhook",
                        "webhook": None,
                        "method": "GET",
                        "outbound": {"signature": receiver["signature"]},
                    }
                ]
            },
            "probes[0]: prober outbound_webhook sends a payload: set method POST",
        ),
        (
            {"webhook_receiver": receiver, "probes": [{**probe, "webhook": {"delivery_field": None}}]},
            "probes[0].webhook: set delivery_header or delivery_field",
        ),
        (
            {
                "webhook_receiver": receiver,
                "events_api": events_block(tmp_path, 9143, tls={"cert_file": str(tmp_path / "current.secret")}),
                "probes": [],
            },
            "share listen_address, so their `tls:` must be the same",
        ),
        (
            {
                "webhook_receiver": {
                    **receiver,
                    "signature": {**receiver["signature"], "secret_env": "SLAKIT_TEST_KEY"},
                },
                "probes": [],
            },
            "webhook_receiver.signature: set exactly one of secret_file and secret_env",
        ),
        (
            {"events_api": {**events_block(tmp_path, 1), "services": ["bad service"]}, "probes": []},
            "events_api.services: service 'bad service' must start with a letter or digit",
        ),
        (
            {"webhook_receiver": {**receiver, "path": "/api/v1/events"}, "probes": []},
            "webhook_receiver.path: path /api/v1/events is the events API's",
        ),
        (
            {"webhook_receiver": {**receiver, "listen_address": "9143"}, "probes": []},
            "webhook_receiver.listen_address: invalid address '9143': use HOST:PORT",
        ),
    ]
    for i, (config, expected) in enumerate(cases):
        path = write_config(tmp_path / f"c{i}.yaml", config)
        message = problems(path)
        assert str(path) in message and expected in message, (i, message)


def test_environment_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_IP", "10.1.2.3")
    monkeypatch.setenv("POD_NAME", "exporter-7d9f-x2")
    receiver = {**receiver_block(tmp_path, 9143, "${POD_NAME}"), "callback_url": "http://${POD_IP}:9143/webhooks"}
    config = load_config(write_config(tmp_path / "x.yaml", {"webhook_receiver": receiver, "probes": []}))
    assert config.webhook_receiver is not None
    assert config.webhook_receiver.callback_url == "http://10.1.2.3:9143/webhooks"
    assert config.webhook_receiver.replica_id == "exporter-7d9f-x2"
