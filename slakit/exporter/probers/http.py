"""The HTTP(S) prober.

Per run: resolve the host ourselves (fresh DNS every time, with the configured address family preference),
connect to the address on a fresh connection (the shared client session closes every connection after use),
send the request with the original Host header and TLS server name, follow redirects ourselves (bounded, loop
detected, every hop resolved afresh), then judge the final response.

Failure reason precedence (the first that applies wins):
1. transport, in the order the exchange reaches them: `dns`, `connect`, `tls`, then `protocol` (garbage
   instead of HTTP, connection closed or reset before the response was complete); the deadline (`timeout`)
   can interrupt any phase and then wins;
2. `redirects`: a redirect loop, or more than max_redirects redirects;
3. `http_status`: the final status code is not accepted (the body is then not read);
4. `too_large`: the body (declared Content-Length or bytes actually read) exceeds max_body_bytes;
5. `body_mismatch`: a body_must_match regex does not match, or a body_must_not_match regex matches.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import os
import re
import socket
import ssl
from typing import TYPE_CHECKING

import aiohttp
from yarl import URL

from slakit import __version__
from slakit.exporter.probers import ProbeResult

if TYPE_CHECKING:
    from slakit.exporter.config import ProbeConfig

# The certificate seen by the connection the current task opened (set by _Connector, read by the prober).
_PEER_CERT: contextvars.ContextVar[list[dict[str, object]] | None] = contextvars.ContextVar(
    "slakit_peer_cert", default=None
)
_AFTER_CONNECT = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = f"slakit-exporter/{__version__}"


class _Failure(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def redact_url(url: URL) -> str:
    """The URL without its password, for logs."""
    return str(url.with_password("xxxxx") if url.password else url)


class _Connector(aiohttp.TCPConnector):
    """Records the peer certificate of every new TLS connection for the task that opened it.

    aiohttp releases a finished response's connection early, so the certificate cannot be read from the
    response reliably; the connector sees every connection while it is being made.
    """

    async def _create_connection(self, req, traces, timeout):  # type: ignore[no-untyped-def]
        proto = await super()._create_connection(req, traces, timeout)
        sink = _PEER_CERT.get()
        transport = getattr(proto, "transport", None)
        if sink is not None and transport is not None:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                sink.append(ssl_object.getpeercert() or {})
        return proto


def make_client(**connector_kw: object) -> aiohttp.ClientSession:
    """The one client session all HTTP probes share: no pooling, no DNS cache, no cookies, no own timeout."""
    connector = _Connector(force_close=True, limit=0, use_dns_cache=False, **connector_kw)  # type: ignore[arg-type]
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=True,
    )


def build_ssl_context(config: ProbeConfig) -> ssl.SSLContext:
    """The probe's client TLS context, shared by every probe with the same TLS settings.

    Loading the system trust store costs tens of milliseconds, so contexts are cached per settings and per
    modification time of the files they read: a reload after a certificate rotation builds a new one.
    """
    tls = config.tls
    files = (tls.ca_file, tls.cert_file, tls.key_file)
    key = (*files, tls.insecure_skip_verify, *(_mtime(f) for f in files))
    ctx = _SSL_CONTEXTS.get(key)
    if ctx is None:
        ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls.cert_file:
            ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
        if len(_SSL_CONTEXTS) > 256:
            _SSL_CONTEXTS.clear()
        _SSL_CONTEXTS[key] = ctx
    return ctx


_SSL_CONTEXTS: dict[tuple[object, ...], ssl.SSLContext] = {}


def _mtime(path: object) -> int | None:
    try:
        return os.stat(str(path)).st_mtime_ns if path is not None else None
    except OSError:
        return None


class HTTPProber:
    def __init__(self, config: ProbeConfig, client: aiohttp.ClientSession) -> None:
        self.config = config
        self.client = client
        self.url = URL(config.url)
        self.headers = {"User-Agent": USER_AGENT, **config.headers}
        self.body = config.body.encode() if config.body is not None else None
        self.must_match = [re.compile(p) for p in config.body_must_match]
        self.must_not_match = [re.compile(p) for p in config.body_must_not_match]
        self.ssl_context = build_ssl_context(config) if self.url.scheme == "https" else None  # cached
        self.valid = config.valid_status_codes
        self.families = _families(config.ip_protocol, config.ip_protocol_fallback)

    def stale(self) -> bool:
        """True when a TLS file changed on disk since this prober was built (a reload then rebuilds it)."""
        return self.ssl_context is not None and build_ssl_context(self.config) is not self.ssl_context

    def status_ok(self, status: int) -> bool:
        return any(lo <= status <= hi for lo, hi in self.valid)

    async def probe(self) -> ProbeResult:
        try:
            return await self._probe()
        except _Failure as f:
            return ProbeResult.failed(f.reason, f.detail, status=getattr(f, "status", None))

    def _take_cert_expiry(self) -> float | None:
        certs = _PEER_CERT.get()
        if not certs:
            return None
        cert = certs.pop()
        certs.clear()
        not_after = cert.get("notAfter")  # absent when verification is off
        return float(ssl.cert_time_to_seconds(str(not_after))) if not_after else None

    async def _probe(self) -> ProbeResult:
        _PEER_CERT.set([])
        url, method, body = self.url, self.config.method, self.body
        seen = {url}
        redirects = 0
        tls_expiry = None
        while True:
            address = await self._resolve(url.host or "")
            async with self._request(url, address, method, body) as resp:
                status = resp.status
                if url.scheme == "https":
                    tls_expiry = self._take_cert_expiry() or tls_expiry
                location = resp.headers.get("Location")
                if self.config.follow_redirects and status in REDIRECT_CODES and location:
                    try:
                        target = url.join(URL(location))
                    except ValueError:
                        return ProbeResult.failed("protocol", f"invalid Location header {location!r}", status=status)
                    if target.scheme not in ("http", "https") or not target.host:
                        return ProbeResult.failed(
                            "redirects", f"redirect to unsupported URL {location!r}", status=status
                        )
                    if target in seen:
                        return ProbeResult.failed(
                            "redirects", f"redirect loop back to {redact_url(target)}", status=status
                        )
                    redirects += 1
                    if redirects > self.config.max_redirects:
                        return ProbeResult.failed(
                            "redirects", f"more than {self.config.max_redirects} redirects", status=status
                        )
                    seen.add(target)
                    if status == 303 or (status in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    url = target
                    continue
                return await self._judge(resp, status, tls_expiry)

    async def _judge(self, resp: aiohttp.ClientResponse, status: int, tls_expiry: float | None) -> ProbeResult:
        extra = {"status": status, "tls_expiry": tls_expiry}
        if not self.status_ok(status):
            return ProbeResult.failed("http_status", f"status {status} is not accepted", **extra)
        cap = self.config.max_body_bytes
        length = resp.content_length
        if length is not None and length > cap:
            return ProbeResult.failed("too_large", f"Content-Length {length} exceeds {cap} bytes", **extra)
        data = bytearray()
        try:
            async for chunk in resp.content.iter_any():
                data += chunk
                if len(data) > cap:
                    return ProbeResult.failed("too_large", f"body exceeds {cap} bytes", **extra)
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError) as exc:
            return ProbeResult.failed("protocol", f"body incomplete: {_describe(exc)}", **extra)
        if self.must_match or self.must_not_match:
            text = data.decode("utf-8", errors="replace")
            for pattern in self.must_match:
                if not pattern.search(text):
                    return ProbeResult.failed("body_mismatch", f"body does not match {pattern.pattern!r}", **extra)
            for pattern in self.must_not_match:
                if pattern.search(text):
                    return ProbeResult.failed("body_mismatch", f"body matches {pattern.pattern!r}", **extra)
        return ProbeResult(True, status=status, tls_expiry=tls_expiry)

    async def _resolve(self, host: str) -> str:
        if _is_ip(host):
            return host
        loop = asyncio.get_running_loop()
        last: Exception | None = None
        for family in self.families:
            try:
                infos = await loop.getaddrinfo(host, None, family=family, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                last = exc
                continue
            if infos:
                return str(infos[0][4][0])
        raise _Failure("dns", f"cannot resolve {host!r}: {last}")

    def _request(self, url: URL, address: str, method: str, body: bytes | None) -> _Exchange:
        return _Exchange(self, url, address, method, body)


class _Exchange:
    """One request/response, with aiohttp's exceptions mapped to failure reasons."""

    def __init__(self, prober: HTTPProber, url: URL, address: str, method: str, body: bytes | None) -> None:
        self.prober, self.url, self.address, self.method, self.body = prober, url, address, method, body
        self.resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        url, prober = self.url, self.prober
        target = URL.build(
            scheme=url.scheme,
            host=f"[{self.address}]" if ":" in self.address else self.address,
            port=url.port,
            path=url.raw_path,
            query_string=url.raw_query_string,
            encoded=True,
        )
        headers = dict(prober.headers)
        if url.user is not None and not any(k.lower() == "authorization" for k in headers):
            # the request goes to the resolved address, so credentials in the URL travel as a header
            token = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        host = url.raw_host or ""
        host = f"[{host}]" if ":" in host else host
        headers.setdefault("Host", host + ("" if url.is_default_port() else f":{url.port}"))
        kw: dict[str, object] = {}
        if url.scheme == "https":
            kw["ssl"] = prober.ssl_context or build_ssl_context(prober.config)
            kw["server_hostname"] = prober.config.tls.server_name or url.host
        try:
            self.resp = await prober.client.request(
                self.method, target, headers=headers, data=self.body, allow_redirects=False, **kw
            )
        except (ssl.SSLError, ssl.CertificateError, aiohttp.ClientSSLError) as exc:
            raise _Failure("tls", f"TLS with {redact_url(url)} failed: {_describe(exc)}") from None
        except aiohttp.ClientConnectorError as exc:
            if url.scheme == "https" and isinstance(exc.os_error, _AFTER_CONNECT):
                # a reset needs an established TCP connection: the server dropped the TLS handshake
                # (e.g. a client certificate it requires with TLS 1.2, or a TLS version it refuses)
                raise _Failure("tls", f"TLS with {redact_url(url)} failed: {_describe(exc)}") from None
            raise _Failure("connect", f"cannot connect to {redact_url(url)}: {_describe(exc)}") from None
        except (aiohttp.ClientResponseError, aiohttp.ClientConnectionError, OSError) as exc:
            raise _Failure("protocol", f"bad HTTP exchange with {redact_url(url)}: {_describe(exc)}") from None
        return self.resp

    async def __aexit__(self, *exc: object) -> None:
        if self.resp is not None:
            self.resp.close()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "..."


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def _families(preference: str | None, fallback: bool) -> tuple[int, ...]:
    if preference is None:
        return (socket.AF_UNSPEC,)
    first, other = (socket.AF_INET, socket.AF_INET6) if preference == "ip4" else (socket.AF_INET6, socket.AF_INET)
    return (first, other) if fallback else (first,)
