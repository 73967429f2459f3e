"""Real probe targets on 127.0.0.1: an aiohttp app plus raw TCP misbehaviours, and TLS certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import struct
from pathlib import Path

from aiohttp import web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HITS = web.AppKey("hits", dict)


def make_app() -> web.Application:
    app = web.Application()
    hits: dict[str, int] = {}
    app[HITS] = hits

    def hit(request: web.Request) -> None:
        hits[request.path] = hits.get(request.path, 0) + 1

    async def ok(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(text="status: ok\n")

    async def status(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(status=int(request.match_info["code"]), text="status page\n")

    async def redirect(request: web.Request) -> web.Response:
        hit(request)
        n = int(request.match_info["n"])
        raise web.HTTPFound("/ok" if n == 0 else f"/redirect/{n - 1}")

    async def loop_a(request: web.Request) -> web.Response:
        hit(request)
        raise web.HTTPFound("/loop/b")

    async def loop_b(request: web.Request) -> web.Response:
        hit(request)
        raise web.HTTPFound("/loop/a")

    async def slow(request: web.Request) -> web.Response:
        hit(request)
        await asyncio.sleep(float(request.query.get("s", "3")))
        return web.Response(text="late\n")

    async def endless(request: web.Request) -> web.StreamResponse:
        hit(request)
        resp = web.StreamResponse()
        await resp.prepare(request)
        chunk = b"x" * 65536
        try:
            while True:
                await resp.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def big(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(body=b"y" * (2 * 1024 * 1024))

    async def degraded(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(text="status: degraded\n")

    async def echo(request: web.Request) -> web.Response:
        hit(request)
        body = await request.read()
        return web.json_response({"method": request.method, "headers": dict(request.headers), "body": body.decode()})

    async def combo(request: web.Request) -> web.Response:
        hit(request)
        size = int(request.query.get("size", "0"))
        body = request.query.get("text", "").encode() + b"z" * size
        headers = {"Location": request.query["location"]} if "location" in request.query else {}
        return web.Response(status=int(request.query.get("status", "200")), body=body, headers=headers)

    async def slow_body(request: web.Request) -> web.StreamResponse:
        hit(request)
        resp = web.StreamResponse(headers={"Content-Length": "1000"})
        await resp.prepare(request)
        await resp.write(b"status: ok\n")
        await asyncio.sleep(3)
        return resp

    app.router.add_get("/combo", combo)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/ok", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_get("/loop/a", loop_a)
    app.router.add_get("/loop/b", loop_b)
    app.router.add_get("/slow", slow)
    app.router.add_get("/endless", endless)
    app.router.add_get("/big", big)
    app.router.add_get("/degraded", degraded)
    app.router.add_route("*", "/echo", echo)
    return app


async def start_app(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
    await site.start()
    return runner, port


async def start_raw(handler) -> tuple[asyncio.Server, int]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def garbage_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\nthis is not HTTP at all\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()


async def reset_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\npartial body")
    await writer.drain()
    await asyncio.sleep(0.05)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close → RST
    writer.transport.abort()


def make_cert(directory: Path, name: str, *, expired: bool = False) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost; expired=True puts notAfter in the past.

    With the `cryptography` package when it is installed, else with the `openssl` command line.
    """
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return make_cert_openssl(directory, name, expired=expired)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    )
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after.replace(microsecond=0))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


_OPENSSL_CA_CONF = """\
[ ca ]
default_ca = slakit_test
[ slakit_test ]
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
x509_extensions = exts
[ any_name ]
commonName = supplied
[ exts ]
basicConstraints = critical,CA:TRUE
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


def make_cert_openssl(directory: Path, name: str, *, expired: bool = False) -> tuple[Path, Path]:
    """`make_cert` with the openssl CLI: `openssl ca -selfsign` takes explicit start and end dates."""
    import subprocess

    work = directory / f"{name}-openssl"
    work.mkdir()
    (work / "index.txt").write_text("")
    (work / "serial").write_text("01\n")
    (work / "ca.cnf").write_text(_OPENSSL_CA_CONF.format(dir=work))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    now = dt.datetime.now(dt.UTC)
    start, end = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    )
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key_path), "-out", str(work / "req.csr"), "-subj", "/CN=localhost",
    )  # fmt: skip
    run(
        "ca", "-batch", "-config", str(work / "ca.cnf"), "-selfsign", "-keyfile", str(key_path),
        "-in", str(work / "req.csr"), "-out", str(cert_path), "-notext",
        "-startdate", start.strftime("%Y%m%d%H%M%SZ"), "-enddate", end.strftime("%Y%m%d%H%M%SZ"),
    )  # fmt: skip
    return cert_path, key_path


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
