"""Target behaviours, each through the exporter's accounting: exact counters, reason and response class."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slakit.exporter.config import FAILURE_REASONS, ExporterConfig
from slakit.exporter.exposition import CODE_CLASSES
from slakit.exporter.runtime import Exporter
from tests.exporter.conftest import Samples, Targets

RUNS = 2
P = {"service": "svc", "probe": "p"}


async def probe_twice(probe: dict[str, Any]) -> tuple[Samples, Exporter]:
    config = ExporterConfig.model_validate(
        {"probes": [{"name": "p", "service": "svc", "interval": "10s", "timeout": "2s", **probe}]}
    )
    exporter = Exporter()
    await exporter.start(config, schedule=False)
    try:
        for _ in range(RUNS):
            await exporter.probe_once(("svc", "p"))
        return Samples(exporter.render().decode()), exporter
    finally:
        await exporter.stop()


def assert_counts(s: Samples, reason: str | None, code_class: str | None) -> None:
    assert s.get("slakit_probes_total", **P) == RUNS
    assert s.get("slakit_probe_success", **P) == (1 if reason is None else 0)
    failures = {dict(k)["reason"]: v for k, v in s.series("slakit_probe_failures_total").items()}
    assert failures == {r: (RUNS if r == reason else 0) for r in FAILURE_REASONS}
    responses = {dict(k)["code_class"]: v for k, v in s.series("slakit_probe_http_responses_total").items()}
    assert responses == {c: (RUNS if c == code_class else 0) for c in CODE_CLASSES}
    assert s.get("slakit_probe_duration_seconds_count", **P) == RUNS
    assert s.get("slakit_probe_duration_seconds_bucket", le="+Inf", **P) == RUNS


CASES: list[tuple[str, Callable[[Targets], dict[str, Any]], str | None, str | None]] = [
    ("200", lambda t: {"url": t.http + "/ok"}, None, "2xx"),
    ("500", lambda t: {"url": t.http + "/status/500"}, "http_status", "5xx"),
    ("404 accepted", lambda t: {"url": t.http + "/status/404", "valid_status_codes": [404]}, None, "4xx"),
    ("redirect chain", lambda t: {"url": t.http + "/redirect/3"}, None, "2xx"),
    (
        "redirect chain too long",
        lambda t: {"url": t.http + "/redirect/3", "max_redirects": 2},
        "redirects",
        "3xx",
    ),
    ("redirect loop", lambda t: {"url": t.http + "/loop/a"}, "redirects", "3xx"),
    (
        "redirect not followed",
        lambda t: {"url": t.http + "/redirect/1", "follow_redirects": False},
        None,
        "3xx",
    ),
    ("slower than timeout", lambda t: {"url": t.http + "/slow?s=3", "timeout": "300ms"}, "timeout", None),
    ("refused", lambda t: {"url": t.refused + "/"}, "connect", None),
    ("reset mid-response", lambda t: {"url": t.reset + "/"}, "protocol", "2xx"),
    ("endless body", lambda t: {"url": t.http + "/endless"}, "too_large", "2xx"),
    ("declared too large", lambda t: {"url": t.http + "/big"}, "too_large", "2xx"),
    ("big body allowed", lambda t: {"url": t.http + "/big", "max_body_bytes": "4MiB"}, None, "2xx"),
    (
        "body mismatch",
        lambda t: {"url": t.http + "/degraded", "body_must_match": ["status: ok"]},
        "body_mismatch",
        "2xx",
    ),
    (
        "body must not match",
        lambda t: {"url": t.http + "/degraded", "body_must_not_match": ["degraded"]},
        "body_mismatch",
        "2xx",
    ),
    ("body matches", lambda t: {"url": t.http + "/ok", "body_must_match": ["^status: ok$"]}, None, "2xx"),
    ("self-signed TLS", lambda t: {"url": t.https + "/ok"}, "tls", None),
    (
        "self-signed TLS, CA given",
        lambda t: {"url": t.https + "/ok", "tls": {"ca_file": str(t.cert)}},
        None,
        "2xx",
    ),
    (
        "expired TLS",
        lambda t: {"url": t.https_expired + "/ok", "tls": {"ca_file": str(t.expired_cert)}},
        "tls",
        None,
    ),
    (
        "expired TLS, verification off",
        lambda t: {"url": t.https_expired + "/ok", "tls": {"insecure_skip_verify": True}},
        None,
        "2xx",
    ),
    ("TLS to a plain HTTP port", lambda t: {"url": t.http.replace("http:", "https:") + "/ok"}, "tls", None),
    ("unresolvable name", lambda t: {"url": "http://no-such-host.invalid/"}, "dns", None),
    ("garbage instead of HTTP", lambda t: {"url": t.garbage + "/"}, "protocol", None),
    (
        "plain HTTP to a TLS port",
        lambda t: {"url": t.https.replace("https:", "http:") + "/ok"},
        "protocol",
        None,
    ),
]


@pytest.mark.parametrize(("case", "probe", "reason", "code_class"), CASES, ids=[c[0] for c in CASES])
async def test_target_behaviour(
    targets: Targets,
    case: str,
    probe: Callable[[Targets], dict[str, Any]],
    reason: str | None,
    code_class: str | None,
) -> None:
    samples, _ = await probe_twice(probe(targets))
    assert_counts(samples, reason, code_class)


async def test_redirect_chain_visits_every_hop(targets: Targets) -> None:
    await probe_twice({"url": targets.http + "/redirect/3"})
    assert [targets.hits.get(f"/redirect/{n}") for n in (3, 2, 1, 0)] == [RUNS] * 4
    assert targets.hits["/ok"] == RUNS


async def test_redirect_loop_stops_at_the_loop(targets: Targets) -> None:
    await probe_twice({"url": targets.http + "/loop/a"})
    assert (targets.hits["/loop/a"], targets.hits["/loop/b"]) == (RUNS, RUNS)


async def test_tls_expiry_is_exposed_only_for_tls_probes(targets: Targets) -> None:
    samples, _ = await probe_twice({"url": targets.https + "/ok", "tls": {"ca_file": str(targets.cert)}})
    expiry = samples.get("slakit_probe_tls_cert_expiry_timestamp_seconds", **P)
    assert 29 * 86400 < expiry - time.time() < 31 * 86400
    plain, _ = await probe_twice({"url": targets.http + "/ok"})
    assert plain.series("slakit_probe_tls_cert_expiry_timestamp_seconds") == {}


async def test_timeout_covers_the_whole_exchange(targets: Targets) -> None:
    start = time.perf_counter()
    _, exporter = await probe_twice({"url": targets.http + "/slow?s=3", "timeout": "300ms"})
    assert time.perf_counter() - start < 1.5
    result = exporter.series[("svc", "p")].last_result
    assert result is not None and 0.3 <= result.duration < 0.6


async def test_request_method_headers_and_body_are_sent(targets: Targets) -> None:
    from slakit.exporter.probers import build_prober
    from slakit.exporter.probers.http import make_client

    config = ExporterConfig.model_validate(
        {
            "probes": [
                {
                    "name": "p",
                    "service": "svc",
                    "url": targets.http + "/echo",
                    "interval": "10s",
                    "timeout": "2s",
                    "method": "POST",
                    "headers": {"X-Token": "abc"},
                    "body": "ping",
                    "body_must_match": ['"method": "POST"', '"X-Token": "abc"', '"body": "ping"'],
                }
            ]
        }
    )
    client = make_client()
    try:
        result = await build_prober(config.probes[0], client).probe()
    finally:
        await client.close()
    assert (result.success, result.reason, result.status) == (True, None, 200)


async def test_ip_protocol_preference(targets: Targets, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver where `v4only.test` has only an IPv4 address and `dual.test` has both."""
    import asyncio
    import socket

    asked: list[tuple[str, int]] = []
    loop = asyncio.get_running_loop()
    port = int(targets.http.rsplit(":", 1)[1])

    async def resolver(host, port_, *, family=0, type=0, **kw):  # type: ignore[no-untyped-def]
        asked.append((host, family))
        v4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        v6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0))
        answers = {"v4only.test": [v4], "dual.test": [v6, v4]}[host]
        found = [a for a in answers if family in (socket.AF_UNSPEC, a[0])]
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return found

    monkeypatch.setattr(loop, "getaddrinfo", resolver)

    def reasons(samples: Samples) -> dict[str, float]:
        return {dict(k)["reason"]: v for k, v in samples.series("slakit_probe_failures_total").items() if v}

    url = f"http://v4only.test:{port}/ok"
    only6, _ = await probe_twice({"url": url, "ip_protocol": "ip6", "ip_protocol_fallback": False})
    assert reasons(only6) == {"dns": RUNS}
    assert asked == [("v4only.test", socket.AF_INET6)] * RUNS
    asked.clear()
    fallback, _ = await probe_twice({"url": url, "ip_protocol": "ip6"})
    assert fallback.get("slakit_probe_success", **P) == 1
    assert asked == [("v4only.test", socket.AF_INET6), ("v4only.test", socket.AF_INET)] * RUNS
    asked.clear()
    # dual stack: ip4 preference connects to 127.0.0.1 (the server), no preference takes the first (::1)
    prefer4, _ = await probe_twice({"url": f"http://dual.test:{port}/ok", "ip_protocol": "ip4"})
    assert prefer4.get("slakit_probe_success", **P) == 1
    assert asked == [("dual.test", socket.AF_INET)] * RUNS
    system, _ = await probe_twice({"url": f"http://dual.test:{port}/ok"})
    assert reasons(system) == {"connect": RUNS}  # nothing listens on [::1]:port
    assert targets.hits["/ok"] == 2 * RUNS


async def test_secrets_never_reach_logs_or_labels(targets: Targets, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="slakit.exporter")
    port = targets.http.rsplit(":", 1)[1]
    samples, _ = await probe_twice(
        {
            "url": f"http://user:pa55word@127.0.0.1:{port}/echo",
            "headers": {"X-Api-Key": "k3y-value"},
            "body_must_match": ['"Authorization": "Basic dXNlcjpwYTU1d29yZA=="', '"X-Api-Key": "k3y-value"'],
        }
    )
    assert samples.get("slakit_probe_success", **P) == 1  # URL credentials were sent as Basic auth
    failing, _ = await probe_twice(
        {"url": f"http://user:pa55word@127.0.0.1:{port}/status/500", "headers": {"X-Api-Key": "k3y-value"}}
    )
    assert failing.get("slakit_probe_failures_total", reason="http_status", **P) == RUNS
    refused = targets.refused.replace("http://", "http://user:pa55word@")
    await probe_twice({"url": refused + "/", "headers": {"X-Api-Key": "k3y-value"}})
    assert "probe svc/p failed: connect: cannot connect to http://user:xxxxx@127.0.0.1" in caplog.text
    for secret in ("pa55word", "k3y-value", "dXNlcjpwYTU1d29yZA"):
        assert secret not in caplog.text
        assert secret not in samples.text and secret not in failing.text


PRECEDENCE: list[tuple[str, Callable[[Targets], dict[str, Any]], str]] = [
    # http_status beats too_large and body_mismatch: the body of a refused status is not read
    (
        "500 + too large + mismatch",
        lambda t: {"url": t.http + "/combo?status=500&size=2000000", "body_must_match": ["never"]},
        "http_status",
    ),
    # too_large beats body_mismatch
    (
        "too large + mismatch",
        lambda t: {"url": t.http + "/combo?size=2000000", "body_must_match": ["never"]},
        "too_large",
    ),
    ("endless + mismatch", lambda t: {"url": t.http + "/endless", "body_must_not_match": ["x"]}, "too_large"),
    # redirects beats http_status: a loop fails as a loop even when 3xx are not accepted
    ("loop + refused 3xx", lambda t: {"url": t.http + "/loop/a", "valid_status_codes": [200]}, "redirects"),
    # a 3xx that is not followed is judged like any status
    (
        "unfollowed 3xx refused",
        lambda t: {"url": t.http + "/redirect/1", "follow_redirects": False, "valid_status_codes": [200]},
        "http_status",
    ),
    # the deadline wins in any phase: here while the body is still arriving after a good status
    (
        "timeout while reading the body",
        lambda t: {"url": t.http + "/slow-body", "timeout": "500ms"},
        "timeout",
    ),
    # a redirect into a failing hop reports that hop's reason
    (
        "redirect to a refused port",
        lambda t: {"url": t.http + "/combo?status=302&location=" + t.refused + "/"},
        "connect",
    ),
    (
        "redirect to an unresolvable name",
        lambda t: {"url": t.http + "/combo?status=307&location=http://nowhere.invalid/"},
        "dns",
    ),
    (
        "redirect to ftp",
        lambda t: {"url": t.http + "/combo?status=301&location=ftp://127.0.0.1/"},
        "redirects",
    ),
    # a 3xx without Location is a final response, judged by its status
    (
        "3xx without Location",
        lambda t: {"url": t.http + "/combo?status=302", "valid_status_codes": [200]},
        "http_status",
    ),
    (
        "body_must_match all required",
        lambda t: {"url": t.http + "/ok", "body_must_match": ["ok", "nope"]},
        "body_mismatch",
    ),
]


@pytest.mark.parametrize(("case", "probe", "reason"), PRECEDENCE, ids=[c[0] for c in PRECEDENCE])
async def test_failure_reason_precedence(
    targets: Targets, case: str, probe: Callable[[Targets], dict[str, Any]], reason: str
) -> None:
    samples, _ = await probe_twice(probe(targets))
    failures = {dict(k)["reason"]: v for k, v in samples.series("slakit_probe_failures_total").items() if v}
    assert failures == {reason: RUNS}


async def test_every_probe_uses_a_fresh_connection_and_a_fresh_resolution(
    targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    connections = []

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer.get_extra_info("peername"))
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(keep_alive, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lookups = []
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def counting(host, *args, **kw):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return await real(host, *args, **kw)

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    try:
        samples, _ = await probe_twice({"url": f"http://localhost:{port}/", "ip_protocol": "ip4"})
    finally:
        server.close()
    assert samples.get("slakit_probe_success", **P) == 1
    assert len(connections) == RUNS  # the server offered keep-alive; each probe still connected anew
    assert len({peer[1] for peer in connections}) == RUNS
    assert lookups == ["localhost"] * RUNS


async def test_tls_with_certificates_made_by_the_openssl_cli(tmp_path: Path) -> None:
    """The fallback used when `cryptography` is not installed produces the same outcomes."""
    from tests.exporter.targets import make_app, make_cert_openssl, server_ssl_context, start_app

    good, good_key = make_cert_openssl(tmp_path, "good")
    old, old_key = make_cert_openssl(tmp_path, "old", expired=True)
    good_runner, good_port = await start_app(make_app(), server_ssl_context(good, good_key))
    old_runner, old_port = await start_app(make_app(), server_ssl_context(old, old_key))
    try:
        ok, _ = await probe_twice({"url": f"https://localhost:{good_port}/ok", "tls": {"ca_file": str(good)}})
        assert_counts(ok, None, "2xx")
        expired, _ = await probe_twice({"url": f"https://127.0.0.1:{old_port}/ok", "tls": {"ca_file": str(old)}})
        assert_counts(expired, "tls", None)
    finally:
        await good_runner.cleanup()
        await old_runner.cleanup()


async def test_client_certificate_and_server_name(targets: Targets, tmp_path: Path) -> None:
    import ssl

    from tests.exporter.targets import make_app, make_cert, start_app

    server_cert, server_key = make_cert(tmp_path, "server")
    client_cert, client_key = make_cert(tmp_path, "client")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(server_cert), str(server_key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(client_cert))
    runner, port = await start_app(make_app(), ctx)
    base = f"https://127.0.0.1:{port}/ok"
    try:
        tls = {"ca_file": str(server_cert), "cert_file": str(client_cert), "key_file": str(client_key)}
        ok, _ = await probe_twice({"url": base, "tls": tls})
        assert_counts(ok, None, "2xx")
        named, _ = await probe_twice({"url": base, "tls": {**tls, "server_name": "localhost"}})
        assert_counts(named, None, "2xx")
        wrong_name, _ = await probe_twice({"url": base, "tls": {**tls, "server_name": "erp.example.com"}})
        assert_counts(wrong_name, "tls", None)
        # TLS 1.3: the server checks the client certificate after the client finished its handshake, and this
        # server then just closes the connection: no HTTP response → `protocol` (nginx answers 400 instead)
        no_client_cert, _ = await probe_twice({"url": base, "tls": {"ca_file": str(server_cert)}})
        assert_counts(no_client_cert, "protocol", None)
        # TLS 1.2: the missing certificate fails the handshake itself → `tls`
        ctx12 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx12.load_cert_chain(str(server_cert), str(server_key))
        ctx12.verify_mode = ssl.CERT_REQUIRED
        ctx12.load_verify_locations(cafile=str(client_cert))
        runner12, port12 = await start_app(make_app(), ctx12)
        try:
            url12 = f"https://127.0.0.1:{port12}/ok"
            refused12, _ = await probe_twice({"url": url12, "tls": {"ca_file": str(server_cert)}})
            assert_counts(refused12, "tls", None)
            accepted12, _ = await probe_twice({"url": url12, "tls": tls})
            assert_counts(accepted12, None, "2xx")
        finally:
            await runner12.cleanup()
    finally:
        await runner.cleanup()
