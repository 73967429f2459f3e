"""Config files for the webhook and events tests (real files in tmp_path, secrets in their own files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CURRENT_KEY = b"whsec-current-7f3a9c21e8b4d6"
PREVIOUS_KEY = b"whsec-previous-0b5e2d94c7a1f3"
EVENTS_TOKEN = b"evtok-5c8e1f2a9d3b7e6041"
SECRETS = (CURRENT_KEY, PREVIOUS_KEY, EVENTS_TOKEN)


def write_secrets(directory: Path) -> dict[str, Path]:
    files = {"current": CURRENT_KEY, "previous": PREVIOUS_KEY, "token": EVENTS_TOKEN}
    paths = {}
    for name, value in files.items():
        path = directory / f"{name}.secret"
        path.write_bytes(value + b"\n")
        path.chmod(0o600)
        paths[name] = path
    return paths


def receiver_block(directory: Path, port: int, replica: str, **extra: Any) -> dict[str, Any]:
    secrets = write_secrets(directory)
    return {
        "listen_address": f"127.0.0.1:{port}",
        "callback_url": f"http://127.0.0.1:{port}/webhooks",
        "replica_id": replica,
        "signature": {
            "signed_content": "timestamp.body",
            "tolerance": "5m",
            "secret_file": str(secrets["current"]),
            "previous_secret_file": str(secrets["previous"]),
        },
        **extra,
    }


def events_block(directory: Path, port: int, **extra: Any) -> dict[str, Any]:
    secrets = write_secrets(directory)
    return {
        "listen_address": f"127.0.0.1:{port}",
        "token_file": str(secrets["token"]),
        "services": ["erp-api", "menu-svc"],
        "max_events": 5,
        "max_body_bytes": "4KiB",
        **extra,
    }


def roundtrip_probe(api: str, mode: str, timeout: str = "2s") -> dict[str, Any]:
    body = '{"reference": "{correlation_id}", "callback": "{callback_url}", "mode": "' + mode + '"}'
    return {
        "name": mode.replace("_", "-"),
        "service": "erp-api",
        "prober": "webhook",
        "url": f"{api}/orders",
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "valid_status_codes": ["200-299"],
        "interval": "30s",
        "timeout": timeout,
        "webhook": {"delivery_field": "data.reference", "expect": {"event": "order.created", "data.status": "created"}},
    }


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
