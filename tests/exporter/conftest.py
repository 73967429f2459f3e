"""Fixtures for the exporter tests: real targets on 127.0.0.1, and a parser for the exposition."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.exporter.targets import (
    HITS,
    free_port,
    garbage_handler,
    make_app,
    make_cert,
    reset_handler,
    server_ssl_context,
    start_app,
    start_raw,
)

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\S+))?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], tuple[float, str | None]]:
    """{(name, labels): (value, timestamp or None)} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"unparsable sample line {line!r}"
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in out, f"duplicate series {line!r}"
        out[key] = (float(m.group(3)), m.group(4))
    return out


class Samples:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = parse_samples(text)

    def get(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))][0]

    def stamp(self, name: str, **labels: str) -> str | None:
        return self.samples[(name, frozenset(labels.items()))][1]

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.samples

    def series(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        return {labels: v for (n, labels), (v, _) in self.samples.items() if n == name}


@dataclass
class Targets:
    http: str  # http://127.0.0.1:PORT
    https: str  # self-signed certificate
    https_expired: str
    garbage: str
    reset: str
    refused: str
    cert: Path
    expired_cert: Path
    hits: dict[str, int]


@pytest.fixture
async def targets(tmp_path: Path) -> AsyncIterator[Targets]:
    cert, key = make_cert(tmp_path, "good")
    old_cert, old_key = make_cert(tmp_path, "old", expired=True)
    app = make_app()
    runners = []
    runner, port = await start_app(app)
    runners.append(runner)
    runner, tls_port = await start_app(make_app(), server_ssl_context(cert, key))
    runners.append(runner)
    runner, old_port = await start_app(make_app(), server_ssl_context(old_cert, old_key))
    runners.append(runner)
    garbage, garbage_port = await start_raw(garbage_handler)
    reset, reset_port = await start_raw(reset_handler)
    yield Targets(
        http=f"http://127.0.0.1:{port}",
        https=f"https://127.0.0.1:{tls_port}",
        https_expired=f"https://127.0.0.1:{old_port}",
        garbage=f"http://127.0.0.1:{garbage_port}",
        reset=f"http://127.0.0.1:{reset_port}",
        refused=f"http://127.0.0.1:{free_port()}",
        cert=cert,
        expired_cert=old_cert,
        hits=app[HITS],
    )
    for server in (garbage, reset):
        server.close()
    for runner in runners:
        await runner.cleanup()
