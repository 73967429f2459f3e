"""The shipped prober config, run for real: uptime and the order -> webhook round trip against a fake API.

Changed from the shipped config only where a test must: every listener on 127.0.0.1 with free ports (the pod
binds 0.0.0.0), `erp-api:8080` replaced by the fake API, intervals shortened to seconds, the other
service's probes (real vendor URLs) left out. POD_IP is 127.0.0.1, as the downward API would give the pod IP.
The fake API signs its deliveries independently of slakit's code: HMAC-SHA256 over the raw body with the key
from the placeholder Secret, alternating the current and the previous key (a rotation in progress).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

from tests.exporter.conftest import Samples
from tests.exporter.targets import free_port, start_app
from tests.packaging.dockerfile import Dockerfile, image_argv
from tests.packaging.manifests import REPO, build, materialize, one, relocate

RUNTIME = Dockerfile.read(REPO / "exporter" / "Dockerfile").stages[-1]


def fake_api(keys: list[bytes], deliveries: list[str]) -> web.Application:
    app = web.Application()
    tasks: set[asyncio.Task[None]] = set()

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def deliver(url: str, correlation_id: str, key: bytes) -> None:
        body = json.dumps({"event": "order.created", "correlation_id": correlation_id}).encode()
        digest = hmac.new(key, body, hashlib.sha256).hexdigest()
        headers = {"X-Signature": f"sha256={digest}", "X-Timestamp": str(int(time.time()))}
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
            deliveries.append(f"{resp.status} {url}")

    async def create_order(request: web.Request) -> web.Response:
        order = await request.json()
        assert order["correlation_id"] == request.headers["X-Correlation-Id"]
        key = keys[len(deliveries) % len(keys)]
        task = asyncio.create_task(deliver(order["webhook_url"], order["correlation_id"], key))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.json_response({"order": "accepted"}, status=201)

    app.router.add_get("/health", health)
    app.router.add_post("/test/orders", create_order)
    return app


def prober_config(text: str, api_port: int, metrics_port: int, receiver_port: int) -> str:
    config = yaml.safe_load(text.replace("http://erp-api:8080", f"http://127.0.0.1:{api_port}"))
    receiver = config["webhook_receiver"]
    assert receiver["listen_address"] == "0.0.0.0:9143" and ":9143/" in receiver["callback_url"]
    receiver["listen_address"] = f"127.0.0.1:{receiver_port}"
    receiver["callback_url"] = receiver["callback_url"].replace(":9143/", f":{receiver_port}/")
    config["probes"] = [p for p in config["probes"] if p["service"] == "erp-api"]
    for probe in config["probes"]:
        probe["interval"], probe["timeout"] = "2s", "1500ms"
    return yaml.safe_dump(config, sort_keys=False)


async def test_the_shipped_prober_probes_uptime_and_the_webhook_round_trip(tmp_path: Path) -> None:
    objects = build()
    mounted = materialize(objects, one(objects, "Deployment", "slakit-prober"), "slakit", tmp_path / "pod")
    secrets = mounted["/etc/slakit-secrets"]
    keys = [(secrets / "current").read_bytes().strip(), (secrets / "previous").read_bytes().strip()]
    deliveries: list[str] = []
    runner, api_port = await start_app(fake_api(keys, deliveries))
    port, receiver_port = free_port(), free_port()
    text = relocate((mounted["/etc/slakit"] / "config.yaml").read_text(encoding="utf-8"), mounted)
    config = tmp_path / "config.yaml"
    config.write_text(prober_config(text, api_port, port, receiver_port), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "POD_IP": "127.0.0.1", "HOSTNAME": "slakit-prober-7d9f-x2x4q"}
    log = tmp_path / "exporter.log"
    argv = image_argv(RUNTIME, config, port)
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    labels = {"service": "erp-api", "location": "in-cluster"}
    samples = None
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                assert proc.poll() is None, log.read_text()
                try:
                    async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                        samples = Samples(await resp.text())
                    if samples.get("slakit_probes_total", probe="order-webhook", **labels) >= 3:
                        break
                except (aiohttp.ClientError, KeyError):
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"no round trips; log:\n{log.read_text()}\n{samples and samples.text[:3000]}")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
        await runner.cleanup()
    assert code == 0, log.read_text()
    assert samples is not None
    for probe in ("erp-health", "order-webhook"):
        total = samples.get("slakit_probes_total", probe=probe, **labels)
        failed = sum(
            value
            for (name, lbl), (value, _) in samples.samples.items()
            if name == "slakit_probe_failures_total" and ("probe", probe) in lbl
        )
        assert total >= 2 and failed == 0, (probe, total, failed, log.read_text())
    # Every delivery went to this replica's own receiver, signed with either key, and was accepted.
    assert len(deliveries) >= 3
    assert {d.split()[1] for d in deliveries} == {f"http://127.0.0.1:{receiver_port}/webhooks"}
    assert all(d.startswith("2") for d in deliveries), deliveries
    assert keys[0].decode() not in log.read_text() and keys[1].decode() not in log.read_text()
