"""HMAC-SHA256 webhook signatures: `<prefix><hex digest>` over the raw body (or `<timestamp>.<body>`).

Verification tries every configured key (current, then previous during a rotation) with a constant-time
comparison, and checks the timestamp header against a tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slakit.exporter.config import SignatureConfig


def signed_bytes(config: SignatureConfig, body: bytes, timestamp: str | None) -> bytes:
    if config.signed_content == "timestamp.body":
        return (timestamp or "").encode() + b"." + body
    return body


def signature(config: SignatureConfig, key: bytes, body: bytes, timestamp: str | None) -> str:
    """The header value for `body` signed with `key`."""
    digest = hmac.new(key, signed_bytes(config, body, timestamp), hashlib.sha256).hexdigest()
    return config.prefix + digest


def sign_headers(config: SignatureConfig, body: bytes, now: float) -> dict[str, str]:
    """Headers that sign `body` with the current key at time `now`."""
    timestamp = str(int(now)) if config.timestamp_header else None
    headers = {config.header: signature(config, config.keys[0], body, timestamp)}
    if config.timestamp_header and timestamp is not None:
        headers[config.timestamp_header] = timestamp
    return headers


def verify(config: SignatureConfig, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """None if the delivery is authentic and fresh, else the reason: `bad_signature` or `stale`.

    The signature is checked first: an unsigned or forged message is `bad_signature` whatever its timestamp.
    """
    timestamp = headers.get(config.timestamp_header) if config.timestamp_header else None
    given = headers.get(config.header, "")
    if not given.startswith(config.prefix):
        return "bad_signature"
    given_bytes = given.encode("ascii", errors="replace")
    if config.signed_content == "timestamp.body" and timestamp is None:
        return "bad_signature"
    valid = False
    for key in config.keys:  # every key is tried, so timing does not tell which one matched
        expected = signature(config, key, body, timestamp).encode()
        valid |= hmac.compare_digest(expected, given_bytes)
    if not valid:
        return "bad_signature"
    if config.timestamp_header:
        try:
            signed_at = float(timestamp) if timestamp is not None else None
        except ValueError:
            signed_at = None
        if signed_at is None or abs(now - signed_at) > config.tolerance:
            return "stale"
    return None
