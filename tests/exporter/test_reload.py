"""Reload semantics, in process and on a real exporter subprocess (HTTP and SIGHUP)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from slakit.exporter.runtime import Exporter
from slakit.exporter.server import make_app
from tests.exporter.conftest import Samples, Targets
from tests.exporter.procs import ExporterProcess
from tests.exporter.targets import free_port

REPO = Path(__file__).resolve().parents[2]


def probe_yaml(name: str, service: str, url: str, interval: str = "10s", timeout: str = "2s", extra: str = "") -> str:
    return (
        f"  - name: {name}\n    service: {service}\n    url: {url}\n"
        f"    interval: {interval}\n    timeout: {timeout}\n{extra}"
    )


def write(path: Path, *probes: str, top: str = "") -> None:
    path.write_text(top + "probes:\n" + "".join(probes))


async def test_reload_keeps_changed_and_unchanged_drops_deleted_and_adds_new(targets: Targets, tmp_path: Path) -> None:
    path = tmp_path / "exporter.yaml"
    ok, bad = targets.http + "/ok", targets.http + "/status/500"
    write(path, probe_yaml("keep", "a", ok), probe_yaml("change", "a", bad), probe_yaml("drop", "b", ok))
    exporter = Exporter(path)
    await exporter.start(schedule=False)
    try:
        for key in [("a", "keep"), ("a", "change"), ("b", "drop")]:
            for _ in range(3):
                await exporter.probe_once(key)
        kept_prober = exporter.probers[("a", "keep")]
        changed_prober = exporter.probers[("a", "change")]

        write(
            path,
            probe_yaml("keep", "a", ok),
            probe_yaml("change", "a", ok, timeout="1s", extra="    body_must_match: [ok]\n"),
            probe_yaml("new", "b", ok),
        )
        assert await exporter.reload() == (True, "config reloaded: 3 probes")
        assert exporter.probers[("a", "keep")] is kept_prober  # unchanged: its schedule keeps running
        assert exporter.probers[("a", "change")] is not changed_prober  # changed: rebuilt, counters kept
        await exporter.probe_once(("a", "change"))
        s = Samples(exporter.render().decode())
        assert s.get("slakit_probes_total", service="a", probe="keep") == 3
        assert s.get("slakit_probes_total", service="a", probe="change") == 4
        assert s.get("slakit_probe_failures_total", service="a", probe="change", reason="http_status") == 3
        assert s.get("slakit_probe_success", service="a", probe="change") == 1
        assert s.get("slakit_probes_total", service="b", probe="new") == 0
        assert s.get("slakit_probe_failures_total", service="b", probe="new", reason="dns") == 0
        assert not any(("probe", "drop") in labels for (_, labels) in s.samples)
        assert s.get("slakit_exporter_config_last_reload_successful") == 1
    finally:
        await exporter.stop()


async def test_bad_reload_keeps_the_running_config(targets: Targets, tmp_path: Path) -> None:
    path = tmp_path / "exporter.yaml"
    write(path, probe_yaml("keep", "a", targets.http + "/ok"))
    exporter = Exporter(path)
    client = TestClient(TestServer(make_app(exporter)))
    await client.start_server()
    await exporter.start(schedule=False)
    try:
        await exporter.probe_once(("a", "keep"))
        first_ts = exporter.reload_ts
        running = exporter.config
        write(path, probe_yaml("keep", "a", targets.http + "/ok", interval="1s", timeout="5s"))
        resp = await client.post("/-/reload")
        assert resp.status == 400
        assert await resp.text() == f"{path}:6: probes[0].timeout: timeout (5s) must be shorter than interval (1s)\n"
        assert exporter.config is running
        s = Samples(exporter.render().decode())
        assert s.get("slakit_exporter_config_last_reload_successful") == 0
        assert s.get("slakit_exporter_config_last_reload_success_timestamp_seconds") == first_ts
        assert s.get("slakit_probes_total", service="a", probe="keep") == 1
        await exporter.probe_once(("a", "keep"))  # still probing the old definition

        path.write_text("probes: [\n")
        assert (await client.post("/-/reload")).status == 400
        path.unlink()
        resp = await client.post("/-/reload")
        assert (resp.status, await resp.text()) == (
            400,
            f"{path}: cannot read file: No such file or directory\n",
        )

        write(path, probe_yaml("keep", "a", targets.http + "/ok"))
        resp = await client.post("/-/reload")
        assert (resp.status, await resp.text()) == (200, "config reloaded: 1 probes\n")
        s = Samples(exporter.render().decode())
        assert s.get("slakit_exporter_config_last_reload_successful") == 1
        assert s.get("slakit_exporter_config_last_reload_success_timestamp_seconds") > first_ts
        assert s.get("slakit_probes_total", service="a", probe="keep") == 2
    finally:
        await client.close()
        await exporter.stop()


async def test_location_change_keeps_counters(targets: Targets, tmp_path: Path) -> None:
    path = tmp_path / "exporter.yaml"
    write(path, probe_yaml("p", "a", targets.http + "/ok"))
    exporter = Exporter(path)
    await exporter.start(schedule=False)
    try:
        await exporter.probe_once(("a", "p"))
        write(path, probe_yaml("p", "a", targets.http + "/ok"), top="location: eu-2\n")
        assert (await exporter.reload())[0]
        s = Samples(exporter.render().decode())
        assert s.get("slakit_probes_total", location="eu-2", service="a", probe="p") == 1
    finally:
        await exporter.stop()


# -- a real exporter process ---------------------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.mark.slow
async def test_sighup_and_http_reload_on_a_real_process(
    targets: Targets, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    path = tmp_path / "exporter.yaml"
    ok = targets.http + "/ok"
    write(path, probe_yaml("keep", "a", ok, "1s", "500ms"), probe_yaml("drop", "a", ok, "1s", "500ms"))
    proc = ExporterProcess(path, free_port())
    try:
        await proc.wait_ready(session)
        before = await proc.wait_for(session, lambda s: s.get("slakit_probes_total", service="a", probe="keep") >= 2)
        kept = before.get("slakit_probes_total", service="a", probe="keep")

        write(path, probe_yaml("keep", "a", ok, "1s", "500ms"), probe_yaml("new", "b", ok, "1s", "500ms"))
        os.kill(proc.proc.pid, signal.SIGHUP)
        s = await proc.wait_for(session, lambda s: s.has("slakit_probes_total", service="b", probe="new"))
        assert not s.has("slakit_probes_total", service="a", probe="drop")
        assert s.get("slakit_probes_total", service="a", probe="keep") >= kept
        s = await proc.wait_for(session, lambda s: s.get("slakit_probes_total", service="b", probe="new") >= 1)
        assert s.get("slakit_exporter_config_last_reload_successful") == 1

        path.write_text("probes:\n  - name: broken\n")
        os.kill(proc.proc.pid, signal.SIGHUP)
        s = await proc.wait_for(session, lambda s: s.get("slakit_exporter_config_last_reload_successful") == 0)
        still = s.get("slakit_probes_total", service="b", probe="new")
        await proc.wait_for(session, lambda s: s.get("slakit_probes_total", service="b", probe="new") > still)

        async with session.post(proc.url + "/-/reload") as resp:
            assert resp.status == 400
            assert f"{path}:2: probes[0].service: Field required" in await resp.text()
        write(path, probe_yaml("keep", "a", ok, "1s", "500ms"))
        async with session.post(proc.url + "/-/reload") as resp:
            assert (resp.status, await resp.text()) == (200, "config reloaded: 1 probes\n")
        s = await proc.samples(session)
        assert not s.has("slakit_probes_total", service="b", probe="new")
        assert s.get("slakit_exporter_config_last_reload_successful") == 1
    finally:
        assert proc.stop() == 0
    log = proc.log.read_text()
    assert "config reload failed, keeping the running config" in log
    assert "Traceback" not in log


async def test_reload_picks_up_a_rotated_ca_file(targets: Targets, tmp_path: Path) -> None:
    from tests.exporter.targets import make_cert

    ca = tmp_path / "ca.pem"
    other, _ = make_cert(tmp_path, "other")
    ca.write_bytes(other.read_bytes())  # not the server's certificate: verification fails
    path = tmp_path / "exporter.yaml"
    write(path, probe_yaml("tls", "a", targets.https + "/ok", extra=f"    tls:\n      ca_file: {ca}\n"))
    exporter = Exporter(path)
    await exporter.start(schedule=False)
    try:
        assert (await exporter.probe_once(("a", "tls"))).reason == "tls"
        before = exporter.probers[("a", "tls")]
        assert (await exporter.reload())[0]
        assert exporter.probers[("a", "tls")] is before  # nothing changed: not rebuilt
        ca.write_bytes(targets.cert.read_bytes())
        os.utime(ca, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a visibly newer mtime
        assert (await exporter.reload())[0]
        assert exporter.probers[("a", "tls")] is not before
        assert (await exporter.probe_once(("a", "tls"))).success
        s = Samples(exporter.render().decode())
        assert s.get("slakit_probes_total", service="a", probe="tls") == 2
    finally:
        await exporter.stop()


async def test_reload_with_an_unloadable_client_certificate_changes_nothing(targets: Targets, tmp_path: Path) -> None:
    path = tmp_path / "exporter.yaml"
    write(path, probe_yaml("keep", "a", targets.http + "/ok"))
    exporter = Exporter(path)
    await exporter.start(schedule=False)
    try:
        await exporter.probe_once(("a", "keep"))
        running, prober = exporter.config, exporter.probers[("a", "keep")]
        cert = tmp_path / "client.pem"
        cert.write_text("garbage\n")
        write(
            path,
            probe_yaml("keep", "a", targets.http + "/ok", timeout="1s"),
            probe_yaml("mtls", "a", targets.https + "/ok", extra=f"    tls:\n      cert_file: {cert}\n"),
        )
        ok, message = await exporter.reload()
        assert not ok
        assert message.startswith(f"{path}: probes[1]: cannot set up the probe: [SSL]")
        assert exporter.config is running and exporter.probers[("a", "keep")] is prober
        assert list(exporter.series) == [("a", "keep")]
        assert exporter.reload_ok == 0
    finally:
        await exporter.stop()
