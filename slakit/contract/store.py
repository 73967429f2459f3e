"""Closed months, stored as JSON so the 90-day credit rule does not depend on Prometheus retention.

`DIR/<service>/<slo>/<YYYY-MM>.v<N>.json`: closing a month again (after a ledger amendment, a corrected
calendar) writes version N+1 when the figures changed and keeps every earlier version.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

VERSION = re.compile(r"^(\d{4}-\d{2})\.v(\d+)\.json$")
VOLATILE = ("closed_at", "version", "supersedes_version")


class MonthStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _dir(self, service: str, slo: str) -> Path:
        return self.root / service / slo

    def versions(self, service: str, slo: str, month: str) -> list[int]:
        folder = self._dir(service, slo)
        if not folder.is_dir():
            return []
        found = [VERSION.match(p.name) for p in folder.iterdir()]
        return sorted(int(m.group(2)) for m in found if m and m.group(1) == month)

    def read(self, service: str, slo: str, month: str, version: int | None = None) -> dict | None:
        versions = self.versions(service, slo, month)
        if not versions:
            return None
        chosen = versions[-1] if version is None else version
        return json.loads((self._dir(service, slo) / f"{month}.v{chosen}.json").read_text(encoding="utf-8"))

    def close(self, record: dict, closed_at: str) -> tuple[Path, int, bool]:
        """Store `record` (keys service, slo, month) as the month's newest version unless it is unchanged."""
        service, slo, month = record["service"], record["slo"], record["month"]
        latest = self.read(service, slo, month)
        folder = self._dir(service, slo)
        if latest is not None and _figures(latest) == _figures(record):
            version = latest["version"]
            return folder / f"{month}.v{version}.json", version, False
        version = (latest["version"] + 1) if latest is not None else 1
        stored = {**record, "version": version, "closed_at": closed_at}
        if latest is not None:
            stored["supersedes_version"] = latest["version"]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{month}.v{version}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path, version, True


def _figures(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in VOLATILE}
