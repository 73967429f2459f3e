"""The shipped sidecar config, run for real: the image's command, the pod's volumes laid out locally.

The API's side is played by the test: it appends combined-format lines to the shared access log and reports
an outcome to the events API with the token from the (placeholder) Secret, as the API container would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.exporter.conftest import Samples
from tests.exporter.targets import free_port
from tests.packaging.dockerfile import Dockerfile, image_argv
from tests.packaging.manifests import REPO, build, containers, materialize, one, relocate

RUNTIME = Dockerfile.read(REPO / "exporter" / "Dockerfile").stages[-1]
LINES = [
    '10.1.2.3 - - [23/Nov/2026:18:00:01 +0000] "GET /orders HTTP/1.1" 200 512 "-" "client/1.0"',
    '10.1.2.3 - - [23/Nov/2026:18:00:02 +0000] "POST /orders HTTP/1.1" 503 19 "-" "client/1.0"',
    '10.1.2.4 - alice [23/Nov/2026:18:00:03 +0000] "GET /menu?x=1 HTTP/1.1" 404 0 "https://a.example/" "b/2"',
]


def _scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return Samples(resp.read().decode())


def _wait(port: int, check, what: str, proc: subprocess.Popen, log: Path) -> Samples:  # type: ignore[no-untyped-def]
    samples = None
    for _ in range(150):
        assert proc.poll() is None, log.read_text()
        try:
            samples = _scrape(port)
            if check(samples):
                return samples
        except (OSError, KeyError):
            pass
        time.sleep(0.1)
    raise AssertionError(
        f"{what} not reached; log:\n{log.read_text()}\nlast scrape:\n{samples and samples.text[:2000]}"
    )


def test_the_shipped_sidecar_counts_the_pods_access_log_and_reported_events(tmp_path: Path) -> None:
    objects = build()
    dep = one(objects, "Deployment", "erp-api")
    mounted = materialize(objects, dep, "slakit", tmp_path / "pod")
    access_log = mounted["/var/log/api"] / "access.log"
    # The API started first and already wrote a line: start_at beginning counts it too.
    access_log.write_text(LINES[0] + "\n", encoding="utf-8")
    port, events_port = free_port(), free_port()
    text = (mounted["/etc/slakit"] / "config.yaml").read_text(encoding="utf-8")
    assert "127.0.0.1:9142" in text
    config = tmp_path / "config.yaml"
    config.write_text(relocate(text, mounted).replace("127.0.0.1:9142", f"127.0.0.1:{events_port}"), encoding="utf-8")
    env = {e["name"]: e for e in containers(dep)["api"]["env"]}
    token = (
        mounted["/etc/slakit-secrets"] / env["SLAKIT_EVENTS_TOKEN"]["valueFrom"]["secretKeyRef"]["key"]
    ).read_text()
    events_url = env["SLAKIT_EVENTS_URL"]["value"].replace(":9142/", f":{events_port}/")

    log = tmp_path / "exporter.log"
    proc = subprocess.Popen(
        image_argv(RUNTIME, config, port), cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        _wait(
            port,
            lambda s: s.get("slakit_requests_total", service="erp-api", code_class="2xx") == 1,
            "line 1",
            proc,
            log,
        )
        with access_log.open("a", encoding="utf-8") as f:
            f.write("\n".join(LINES[1:]) + "\n")
        _wait(
            port,
            lambda s: (
                (
                    s.get("slakit_requests_total", service="erp-api", code_class="5xx"),
                    s.get("slakit_requests_total", service="erp-api", code_class="4xx"),
                )
                == (1, 1)
            ),
            "lines 2-3",
            proc,
            log,
        )

        event = {"type": "webhook_delivery", "service": "erp-api", "result": "failed"}
        request = urllib.request.Request(
            events_url,
            data=json.dumps(event).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert 200 <= resp.status < 300
        wrong = urllib.request.Request(events_url, data=b"{}", headers={"Authorization": "Bearer nope"}, method="POST")
        try:
            urllib.request.urlopen(wrong, timeout=5)
            raise AssertionError("a wrong token was accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 401
        samples = _wait(
            port,
            lambda s: s.get("slakit_webhook_deliveries_total", service="erp-api", result="failed") == 1,
            "the reported delivery",
            proc,
            log,
        )
        assert samples.get("slakit_requests_total", service="erp-api", code_class="2xx") == 1, "no line counted twice"
        assert not samples.text.count("slakit_probe_minutes_total{"), "the sidecar probes nothing"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    assert code == 0, log.read_text()
    assert any(mounted["/var/lib/slakit"].iterdir()), "the read offset is kept in state_dir"
    assert token not in log.read_text(), "the token never reaches the log"
