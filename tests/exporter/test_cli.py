"""The command line: exit code 2 with file/field/line messages and no traceback; binding."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from slakit.commands.exporter import parse_listen_address
from slakit.errors import InputError
from tests.exporter.targets import free_port

REPO = Path(__file__).resolve().parents[2]
BAD = """\
probes:
  - name: erp-health
    service: erp-api
    url: http://127.0.0.1:8080/health
    interval: 5s
    timeout: 5s
"""


def slakit(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slakit", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_exporter_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = slakit("exporter", "--config.file", str(path), "--web.listen-address", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert result.stderr == (
        f"slakit exporter: error: {path}:6: probes[0].timeout: timeout (5s) must be shorter than interval (5s)\n"
    )


def test_check_validates_exporter_configs(tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.yaml", tmp_path / "good.yaml"
    bad.write_text(BAD)
    good.write_text(BAD.replace("timeout: 5s", "timeout: 2s"))
    result = slakit("check", "--exporter-config", str(good))
    assert (result.returncode, result.stdout) == (0, f"{good}: ok\n")
    result = slakit("check", "--exporter-config", str(good), "--exporter-config", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"slakit check: error: {bad}:6: probes[0].timeout: timeout (5s) must be shorter than interval (5s)"
    ]


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = slakit("exporter", "--config.file", str(tmp_path / "none.yaml"))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"slakit exporter: error: {tmp_path / 'none.yaml'}: cannot read file: No such file or directory\n"
    )


def test_bad_listen_address_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("probes: []\n")
    result = slakit("exporter", "--config.file", str(path), "--web.listen-address", "localhost")
    assert result.returncode == 2
    assert result.stderr == (
        "slakit exporter: error: --web.listen-address: invalid address 'localhost': "
        "use HOST:PORT, like 127.0.0.1:9141\n"
    )


def test_listen_address_forms() -> None:
    assert parse_listen_address("127.0.0.1:9141") == ("127.0.0.1", 9141)
    assert parse_listen_address("[::1]:9141") == ("::1", 9141)
    for bad in ("127.0.0.1", ":9141", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:http"):
        with pytest.raises(InputError):
            parse_listen_address(bad)


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.slow
def test_binds_only_the_configured_address_and_refuses_a_busy_port(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("probes: []\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slakit",
            "exporter",
            "--config.file",
            str(path),
            "--web.listen-address",
            f"127.0.0.1:{port}",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            if _listening(port):
                break
            time.sleep(0.1)
        assert _listening(port) == {"0100007F"}  # 127.0.0.1 only, nothing on 0.0.0.0 or ::
        busy = slakit("exporter", "--config.file", str(path), "--web.listen-address", f"127.0.0.1:{port}")
        assert busy.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_unloadable_client_certificate_exits_2(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("not a certificate\n")
    path = tmp_path / "tls.yaml"
    path.write_text(
        BAD.replace("http://", "https://").replace("timeout: 5s", f"timeout: 2s\n    tls:\n      cert_file: {cert}")
    )
    result = slakit("exporter", "--config.file", str(path), "--web.listen-address", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert result.stderr.startswith(f"slakit exporter: error: {path}: probes[0]: cannot set up the probe: [SSL]")
    assert len(result.stderr.splitlines()) == 1  # nothing else: no traceback, no leaked session
