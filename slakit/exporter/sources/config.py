"""The `sources:` entries of the exporter config: which log file feeds which real-traffic counter."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from slakit.errors import Problem
from slakit.yamlsource import YamlDocument, format_path

REJECT_REASONS: tuple[str, ...] = (
    "malformed",
    "missing_field",
    "bad_status",
    "unknown_value",
    "too_long",
    "invalid_event",
)
MIN_LINE_BYTES, MAX_LINE_BYTES = 1024, 1024 * 1024
# the result values of each kind (as in slakit/exporter/traffic.py, which imports the config and so not this way)
RESULTS: dict[str, tuple[str, ...]] = {"webhook_deliveries": ("delivered", "failed"), "menu_syncs": ("ok", "failed")}


def normalize(value: Any) -> str | None:
    """A JSON scalar as the text it is matched by: `true`, `200`, `delivered`; None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return None


class SourceConfig(BaseModel):
    """One followed log file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="unique source name; the `source` label of the log metrics")
    service: str = Field(description="the `service` label of the counted events")
    kind: Literal["requests", "webhook_deliveries", "menu_syncs", "tickets"] = Field(
        description="the counter fed: slakit_requests_total, slakit_webhook_deliveries_total or "
        "slakit_menu_syncs_total; tickets: support ticket events (JSON lines, docs/support.md) for the service's "
        "support_tickets book"
    )
    path: Path = Field(description="absolute path of the log file (followed across rotation)")
    format: Literal["combined", "json"] = Field(
        "combined", description="combined: nginx/Apache combined or common log format; json: one object per line"
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="json only: {status: PATH} (requests) or {result: PATH} (other kinds); dotted paths for "
        "nested objects. Default: the key `status` or `result`",
    )
    results: dict[str, list[str | int | bool]] | None = Field(
        None,
        description="json, webhook_deliveries/menu_syncs: the values meaning each result, e.g. "
        "{delivered: [delivered, ok], failed: [failed, error, timeout]}. Default: the result names themselves",
    )
    start_at: Literal["end", "beginning"] = Field(
        "end", description="where to start in a file never read before (no saved offset)"
    )
    max_line_bytes: int = Field(
        64 * 1024,
        ge=MIN_LINE_BYTES,
        le=MAX_LINE_BYTES,
        description="longer lines are rejected (`too_long`) without being held in memory",
    )

    @field_validator("name", "service")
    @classmethod
    def _label(cls, v: str, info: ValidationInfo) -> str:
        from slakit.exporter.config import _label_value

        return _label_value(info.field_name or "value", v)

    @field_validator("path")
    @classmethod
    def _path(cls, v: Path) -> Path:
        if not v.is_absolute():
            raise ValueError(f"path {str(v)!r} must be absolute")
        if v.is_dir():
            raise ValueError(f"path {str(v)!r} is a directory")
        return v

    @field_validator("format")
    @classmethod
    def _format(cls, v: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if v == "combined" and kind is not None and kind != "requests":
            raise ValueError(f"format combined only gives requests; kind {kind} needs format json")
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if v and info.data.get("format") == "combined":
            raise ValueError("fields are for format json only")
        kind = info.data.get("kind")
        if v and kind == "tickets":
            raise ValueError("fields are not used by kind tickets (lines are ticket events, docs/support.md)")
        if kind is not None:
            key = _field_key(kind)
            if unknown := set(v) - {key}:
                raise ValueError(f"unknown key {sorted(unknown)[0]!r}; kind {kind} reads only {key!r}")
        for key, path in v.items():
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"{key}: {path!r} is not a field name or dotted path")
        return v

    @field_validator("results")
    @classmethod
    def _results(cls, v: dict[str, list[str | int | bool]] | None, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if v is None or kind is None:
            return v
        if kind in ("requests", "tickets") or info.data.get("format") == "combined":
            raise ValueError("results are for json sources of kind webhook_deliveries or menu_syncs")
        names = RESULTS[kind]
        if bad := set(v) - set(names):
            raise ValueError(f"unknown result {sorted(bad)[0]!r}; use {', '.join(names)}")
        seen: dict[str, str] = {}
        for result, values in v.items():
            for value in values:
                text = normalize(value)
                assert text is not None
                if text in seen and seen[text] != result:
                    raise ValueError(f"value {text!r} is listed for both {seen[text]} and {result}")
                seen[text] = result
        return v

    @property
    def field_key(self) -> str:
        return _field_key(self.kind)

    @property
    def field_path(self) -> tuple[str, ...]:
        return tuple(self.fields.get(self.field_key, self.field_key).split("."))

    @property
    def value_map(self) -> dict[str, str]:
        """Normalized JSON value → label value (webhook_deliveries, menu_syncs)."""
        names = RESULTS.get(self.kind, ())
        results = self.results if self.results is not None else {n: [n] for n in names}
        return {text: result for result, values in results.items() for v in values if (text := normalize(v))}


def _field_key(kind: str) -> str:
    return "status" if kind == "requests" else "result"


def check_sources(v: list[SourceConfig], info: ValidationInfo) -> list[SourceConfig]:
    """Field validator of ExporterConfig.sources: a state_dir is needed to persist offsets."""
    if v and "state_dir" in info.data and info.data["state_dir"] is None:
        raise ValueError("sources need a top-level state_dir where read offsets are kept across restarts")
    return v


def duplicate_problems(doc: YamlDocument) -> list[Problem]:
    """Sources whose name repeats, with their line (pydantic's model check would have none)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    sources = data.get("sources")
    if not isinstance(sources, list):
        return []
    seen: dict[str, int] = {}
    problems = []
    for i, source in enumerate(sources):
        name = source.get("name") if isinstance(source, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            loc = ["sources", i, "name"]
            msg = f"source {name!r} is already defined at sources[{seen[name]}]; source names must be unique"
            problems.append(Problem(doc.source, msg, field=format_path(loc), line=doc.line_of(loc)))
        seen.setdefault(name, i)
    return problems
