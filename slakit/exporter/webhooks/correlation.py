"""Correlation ids: `slakit-<32 hex>-<replica id>`, fresh per round-trip probe run.

The replica id inside the id lets a receiver recognise a delivery meant for another replica (misrouted)
instead of mistaking it for an unknown one. Ids use only URL-, header- and JSON-safe characters.
"""

from __future__ import annotations

import re
import secrets

_ID_RE = re.compile(r"^slakit-([0-9a-f]{32})-([A-Za-z0-9_.-]{1,64})$")


def new_id(replica: str) -> str:
    return f"slakit-{secrets.token_hex(16)}-{replica}"


def replica_of(correlation_id: str) -> str | None:
    """The replica id inside a correlation id, or None if it is not one of ours."""
    m = _ID_RE.match(correlation_id)
    return m.group(2) if m else None
