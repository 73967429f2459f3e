"""The exposition: both formats parse, timestamps only on the minutes family, labels, gzip, endpoints."""

from __future__ import annotations

import gzip
import subprocess
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from slakit.exporter.config import ExporterConfig
from slakit.exporter.exposition import wants_openmetrics
from slakit.exporter.minutes import minute_start
from slakit.exporter.runtime import Exporter
from slakit.exporter.server import make_app
from tests.exporter.conftest import Samples, Targets

PROBE_FAMILIES = {
    "slakit_probe_minutes_total",
    "slakit_probe_success",
    "slakit_probes_total",
    "slakit_probe_failures_total",
    "slakit_probe_duration_seconds",
    "slakit_probe_http_responses_total",
    "slakit_probe_tls_cert_expiry_timestamp_seconds",
}


def config(targets: Targets, location: str | None = None, n: int = 2) -> ExporterConfig:
    probes = [
        {"name": f"p{i}", "service": "svc", "url": targets.http + "/ok", "interval": "10s", "timeout": "2s"}
        for i in range(n)
    ]
    return ExporterConfig.model_validate({"location": location, "probes": probes})


async def started(cfg: ExporterConfig, clock=time.time) -> Exporter:  # type: ignore[no-untyped-def]
    exporter = Exporter(clock=clock)
    await exporter.start(cfg, schedule=False)
    return exporter


async def test_text_format_parses_and_is_lean(targets: Targets) -> None:
    exporter = await started(config(targets))
    await exporter.probe_once(("svc", "p0"))
    text = exporter.render().decode()
    await exporter.stop()
    families = {f.name: f for f in parse_text(text)}
    # prometheus_client strips _total from counter family names
    assert "slakit_probe_minutes" in families and "slakit_probes" in families
    assert "_created" not in text
    s = Samples(text)
    assert len(s.series("slakit_probe_failures_total")) == 2 * 9
    assert len(s.series("slakit_probe_http_responses_total")) == 2 * 5
    assert s.has("slakit_probe_success", service="svc", probe="p0")
    assert not s.has("slakit_probe_success", service="svc", probe="p1")  # never ran yet
    assert s.get("slakit_exporter_build_info", version="0.1.0") == 1
    for reserved in ("slakit_requests_total", "slakit_webhook_deliveries_total"):
        assert reserved not in text


def test_promtool_parses_the_exposition(tmp_path: Path) -> None:
    import asyncio

    from tests.exporter.targets import free_port

    cfg = ExporterConfig.model_validate(
        {
            "probes": [
                {
                    "name": "p",
                    "service": "s",
                    "url": f"http://127.0.0.1:{free_port()}/",
                    "interval": "10s",
                    "timeout": "1s",
                }
            ]
        }
    )

    async def render() -> bytes:
        exporter = await started(cfg)
        await exporter.probe_once(("s", "p"))
        await exporter.stop()
        return exporter.render()

    text = asyncio.run(render())
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=30)
    # The only lint finding is the contract's own name: minutes are the unit the SLA counts in.
    assert result.stderr.decode().splitlines() == [
        'slakit_probe_minutes_total use base unit "seconds" instead of "minutes"'
    ]
    assert result.returncode == 3  # promtool: lint problems only, the exposition itself parsed


async def test_only_the_minutes_family_has_timestamps(targets: Targets) -> None:
    now = time.time()
    exporter = await started(config(targets))
    text = exporter.render().decode()
    await exporter.stop()
    s = Samples(text)
    stamped = {name for (name, _), (_, ts) in s.samples.items() if ts is not None}
    assert stamped == {"slakit_probe_minutes_total"}
    assert s.stamp("slakit_probe_minutes_total", service="svc", probe="p0", outcome="up") == str(
        minute_start(now) * 1000
    )


async def test_minutes_counter_and_its_timestamp_advance_together(targets: Targets) -> None:
    t = [1_795_449_000.0 + 10]
    exporter = await started(config(targets, n=1), clock=lambda: t[0])
    await exporter.probe_once(("svc", "p0"))
    s = Samples(exporter.render().decode())
    labels = {"service": "svc", "probe": "p0"}
    assert s.get("slakit_probe_minutes_total", outcome="up", **labels) == 0
    assert s.stamp("slakit_probe_minutes_total", outcome="up", **labels) == "1795449000000"
    t[0] = 1_795_449_060.002
    exporter.close_minutes(t[0])
    s = Samples(exporter.render().decode())
    assert s.get("slakit_probe_minutes_total", outcome="up", **labels) == 1
    assert s.get("slakit_probe_minutes_total", outcome="down", **labels) == 0
    assert s.stamp("slakit_probe_minutes_total", outcome="up", **labels) == "1795449060000"
    assert s.stamp("slakit_probe_minutes_total", outcome="down", **labels) == "1795449060000"
    assert s.get("slakit_exporter_last_minute_closed_timestamp_seconds") == 1795449060
    om = exporter.render(openmetrics=True).decode()
    await exporter.stop()
    assert 'slakit_probe_minutes_total{service="svc",probe="p0",outcome="up"} 1 1795449060.000\n' in om


async def test_openmetrics_parses_with_seconds_timestamps_and_eof(targets: Targets) -> None:
    exporter = await started(config(targets, location="eu-1"))
    await exporter.probe_once(("svc", "p0"))
    text = exporter.render(openmetrics=True).decode()
    await exporter.stop()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parse_openmetrics(text)}
    minutes = families["slakit_probe_minutes"]
    assert minutes.type == "counter"
    (sample,) = [x for x in minutes.samples if x.labels["probe"] == "p0" and x.labels["outcome"] == "up"]
    assert sample.labels == {"location": "eu-1", "service": "svc", "probe": "p0", "outcome": "up"}
    assert float(sample.timestamp) == minute_start(time.time())
    assert families["slakit_exporter_build"].type == "info"
    assert families["slakit_probe_duration_seconds"].type == "histogram"


async def test_location_label_on_every_probe_series_only(targets: Targets) -> None:
    exporter = await started(config(targets, location="eu-1"))
    await exporter.probe_once(("svc", "p0"))
    s = Samples(exporter.render().decode())
    await exporter.stop()
    for (name, labels), _ in s.samples.items():
        label_names = {k for k, _ in labels}
        if name.startswith("slakit_probe"):
            assert ("location", "eu-1") in labels, name
            assert label_names <= {"location", "service", "probe", "outcome", "reason", "code_class", "le"}
        else:
            assert "location" not in label_names, name


def test_openmetrics_negotiation() -> None:
    assert wants_openmetrics("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert wants_openmetrics("application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5")
    assert not wants_openmetrics("text/plain;version=0.0.4;q=1,*/*;q=0.1")
    assert not wants_openmetrics("")


async def test_endpoints(targets: Targets) -> None:
    exporter = Exporter()
    client = TestClient(TestServer(make_app(exporter)))
    await client.start_server()
    try:
        resp = await client.get("/-/ready")
        assert resp.status == 503
        await exporter.start(config(targets, n=50), schedule=False)
        assert (await client.get("/-/ready")).status == 200
        assert (await client.get("/-/healthy")).status == 200
        resp = await client.get("/metrics", headers={"Accept-Encoding": "identity"})
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert "Content-Encoding" not in resp.headers
        plain = await resp.read()
        assert b"slakit_probes_total" in plain
        resp = await client.get("/metrics", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert resp.headers["Content-Encoding"] == "gzip"
        body = await resp.read()
        assert len(plain) > 64 * 1024  # large enough to be compressed off the event loop
        assert gzip.decompress(body) == plain
        resp = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert resp.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
        assert (await resp.text()).endswith("# EOF\n")
        assert (await client.get("/-/reload")).status == 405  # only POST/PUT
    finally:
        await client.close()
        await exporter.stop()


def test_gzip_negotiation() -> None:
    from slakit.exporter.server import accepts_gzip

    assert accepts_gzip("gzip")
    assert accepts_gzip("deflate, gzip;q=1.0, *;q=0.5")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("gzip;q=bogus")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("")
