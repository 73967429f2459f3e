"""Secrets (webhook keys, bearer tokens) come from a file or an environment variable, never the config text.

Error messages name the file or variable, never the value.
"""

from __future__ import annotations

import os
from pathlib import Path


def read_secret_file(path: Path) -> bytes:
    """The file's content without surrounding whitespace; ValueError if missing, unreadable or empty."""
    try:
        value = path.read_bytes().strip()
    except FileNotFoundError:
        raise ValueError(f"secret file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"cannot read secret file {str(path)!r}: {exc.strerror or exc}") from None
    if not value:
        raise ValueError(f"secret file {str(path)!r} is empty")
    return value


def read_secret_env(name: str) -> bytes:
    """The variable's value without surrounding whitespace; ValueError if unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ValueError(f"environment variable {name} is not set or empty")
    return value.encode()


def load_secret(file: Path | None, env: str | None) -> bytes:
    if file is not None:
        return read_secret_file(file)
    assert env is not None
    return read_secret_env(env)
