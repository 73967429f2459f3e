"""The real exporter process: receiver and events API on one extra listener, secrets never in /metrics or
the log, and bad configs exit 2 naming file and field."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.exporter.procs import REPO, ExporterProcess
from tests.exporter.targets import free_port
from tests.exporter.webhooks.fakeapi import FakeAPI
from tests.exporter.webhooks.helpers import (
    CURRENT_KEY,
    EVENTS_TOKEN,
    PREVIOUS_KEY,
    SECRETS,
    events_block,
    receiver_block,
    roundtrip_probe,
    write_config,
)


async def test_round_trip_and_events_in_the_real_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAKIT_TEST_EVENTS_TOKEN", EVENTS_TOKEN.decode())
    api = await FakeAPI(CURRENT_KEY, PREVIOUS_KEY).start()
    port, extra = free_port(), free_port()
    receiver = receiver_block(tmp_path, extra, "replica-a")
    events = events_block(tmp_path, extra)
    del events["token_file"]
    events["token_env"] = "SLAKIT_TEST_EVENTS_TOKEN"
    probe = {**roundtrip_probe(api.url, "on_time", timeout="1s"), "interval": "2s"}
    bad = {**roundtrip_probe(api.url, "bad_signature", timeout="1s"), "interval": "2s"}
    config = write_config(
        tmp_path / "exporter.yaml", {"webhook_receiver": receiver, "events_api": events, "probes": [probe, bad]}
    )
    proc = ExporterProcess(config, port)
    try:
        async with aiohttp.ClientSession() as session:
            await proc.wait_ready(session)
            s = await proc.wait_for(
                session,
                lambda s: (
                    s.get(
                        "slakit_probe_failures_total", service="erp-api", probe="bad-signature", reason="bad_signature"
                    )
                    >= 1
                    and s.get("slakit_probes_total", service="erp-api", probe="on-time") >= 1
                ),
            )
            assert s.get("slakit_probe_success", service="erp-api", probe="on-time") == 1
            assert s.get("slakit_webhook_receptions_total", result="accepted") >= 1
            event = {"type": "webhook_delivery", "service": "erp-api", "result": "failed", "count": 7}
            headers = {"Authorization": "Bearer " + EVENTS_TOKEN.decode()}
            async with session.post(f"http://127.0.0.1:{extra}/api/v1/events", json=event, headers=headers) as resp:
                assert resp.status == 202
            async with session.post(f"http://127.0.0.1:{extra}/api/v1/events", json=event) as resp:
                assert resp.status == 401
            s = await proc.samples(session)
            assert s.get("slakit_webhook_deliveries_total", service="erp-api", result="failed") == 7
            async with session.get(proc.url + "/api/v1/events") as resp:
                assert resp.status == 404  # not on the /metrics listener
            async with session.post(proc.url + "/-/reload") as resp:
                assert resp.status == 200, await resp.text()
    finally:
        assert proc.stop() == 0
        await api.stop()
    log = proc.log.read_text()
    assert f"listening on 127.0.0.1:{extra} for /webhooks, /api/v1/events" in log
    assert "bad_signature" in log  # debug log of the failed probe
    for secret in SECRETS:
        assert secret.decode() not in log
        assert secret.decode() not in s.text


def line_of(config: Path, key: str) -> int:
    return next(i for i, text in enumerate(config.read_text().splitlines(), 1) if text.strip().startswith(key + ":"))


def run_exporter(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "slakit.exporter",
            "--config.file",
            str(config),
            "--web.listen-address",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r, d: r["signature"].update(secret_file=str(d / "missing.key")),
            "webhook_receiver.signature.secret_file: secret file '{d}/missing.key' does not exist",
        ),
        (
            lambda r, d: r["signature"].update(secret="hunter2-inline"),
            "webhook_receiver.signature.secret: secrets are not accepted in the config text",
        ),
        (
            lambda r, d: r["signature"].update(previous_secret_env="SLAKIT_TEST_UNSET_VARIABLE"),
            "webhook_receiver.signature.previous_secret_env: environment variable SLAKIT_TEST_UNSET_VARIABLE is not",
        ),
        (
            lambda r, d: r.update(callback_url="http://${SLAKIT_TEST_UNSET_POD_IP}:9143/webhooks"),
            "webhook_receiver.callback_url: environment variable SLAKIT_TEST_UNSET_POD_IP (used as ${SLAKIT_TEST_",
        ),
    ],
)
def test_bad_config_exits_2_naming_file_and_field(tmp_path: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_block(tmp_path, free_port(), "replica-a")
    change(receiver, tmp_path)
    config = write_config(tmp_path / "bad.yaml", {"webhook_receiver": receiver, "probes": []})
    done = run_exporter(config)
    assert done.returncode == 2, done.stderr
    line = line_of(config, expected.partition(":")[0].rpartition(".")[2])
    assert f"{config}:{line}: {expected.replace('{d}', str(tmp_path))}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_events_token_inline_is_refused(tmp_path: Path) -> None:
    events = events_block(tmp_path, free_port(), token="evtok-inline-secret")
    del events["token_file"]
    config = write_config(tmp_path / "bad.yaml", {"events_api": events, "probes": []})
    done = run_exporter(config)
    assert done.returncode == 2
    line = line_of(config, "token")
    assert f"{config}:{line}: events_api.token: secrets are not accepted in the config text" in done.stderr, done.stderr
    assert "evtok-inline-secret" not in done.stderr


def test_busy_receiver_address_exits_1_naming_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(
            tmp_path / "x.yaml", {"webhook_receiver": receiver_block(tmp_path, port, "r"), "probes": []}
        )
        done = run_exporter(config)
    assert done.returncode == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port} (/webhooks)" in done.stderr
