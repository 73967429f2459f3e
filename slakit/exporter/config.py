"""The exporter's configuration: one typed model, loaded with file/field/line errors."""

from __future__ import annotations

import itertools
import math
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from slakit import durations
from slakit.errors import InputError, Problem
from slakit.exporter.sources.config import SourceConfig, check_sources, duplicate_problems
from slakit.exporter.tickets import SupportTicketsConfig, check_support
from slakit.yamlsource import YamlDocument, format_path

DEFAULT_DURATION_BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FAILURE_REASONS: tuple[str, ...] = (
    "dns",
    "connect",
    "tls",
    "timeout",
    "protocol",
    "redirects",
    "http_status",
    "too_large",
    "body_mismatch",
)
# The round-trip webhook prober's reasons (probers/webhook.py); the http and outbound_webhook probers use the above.
WEBHOOK_FAILURE_REASONS: tuple[str, ...] = ("trigger_failed", "timeout", "bad_signature", "stale", "mismatch")
PROBER_FAILURE_REASONS: dict[str, tuple[str, ...]] = {
    "http": FAILURE_REASONS,
    "outbound_webhook": FAILURE_REASONS,
    "webhook": WEBHOOK_FAILURE_REASONS,
}

_DECIMAL_DURATION_RE = re.compile(r"^(\d+\.\d+)(ms|s|m|h)$")  # `1.5s`: accepted beyond Prometheus' syntax
_SIZE_RE = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB|kB|MB|GB)?$")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "kB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
}
_LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_duration(value: Any) -> float:
    """`15s`, `1m`, `500ms`, `1m30s` (Prometheus style, shared with the rest of slakit) → seconds; > 0."""
    if isinstance(value, str) and (m := _DECIMAL_DURATION_RE.match(value.strip())):
        seconds = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    else:
        seconds = durations.parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be greater than zero")
    return seconds


def parse_size(value: Any) -> int:
    """`1048576`, `1MiB`, `512KiB` → bytes."""
    if isinstance(value, bool):
        raise ValueError("must be a byte size like 1048576 or 1MiB")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (m := _SIZE_RE.match(value.strip())):
        size = int(m.group(1)) * _SIZE_UNITS[m.group(2)]
    else:
        raise ValueError(f"invalid size {value!r}: use bytes or a unit (KiB, MiB, GiB, kB, MB, GB), e.g. 1MiB")
    if size <= 0:
        raise ValueError("size must be greater than zero")
    return size


def parse_status_codes(value: Any) -> list[tuple[int, int]]:
    """`[200, "200-299", 404]` → inclusive ranges."""
    if isinstance(value, int | str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError('must be a non-empty list of status codes or ranges, like [200, "300-399"]')
    ranges = []
    for item in value:
        if isinstance(item, bool):
            raise ValueError(f"invalid status code {item!r}")
        if isinstance(item, int):
            lo = hi = item
        elif isinstance(item, str) and re.fullmatch(r"\s*\d{3}\s*(-\s*\d{3}\s*)?", item):
            parts = [int(p) for p in item.split("-")]
            lo, hi = parts[0], parts[-1]
        else:
            raise ValueError(f'invalid status code {item!r}: use a number like 200 or a range like "200-299"')
        if not (100 <= lo <= 599 and 100 <= hi <= 599):
            raise ValueError(f"status code {item!r} is outside 100-599")
        if lo > hi:
            raise ValueError(f"status code range {item!r} is reversed")
        ranges.append((lo, hi))
    return ranges


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(
        json_schema_extra={
            "type": ["string", "number"],
            "pattern": r"^(((\d+)(ms|s|m|h|d|w|y))+|\d+\.\d+(ms|s|m|h))$",
        }
    ),
]
Size = Annotated[
    int,
    BeforeValidator(parse_size),
    Field(json_schema_extra={"type": ["integer", "string"], "pattern": r"^\d+\s*(B|KiB|MiB|GiB|kB|MB|GB)?$"}),
]


def _label_value(what: str, value: str) -> str:
    if not _LABEL_VALUE_RE.match(value):
        raise ValueError(
            f"{what} {value!r} must start with a letter or digit and contain only letters, digits, "
            "'_', '.', ':' and '-' (at most 128 characters)"
        )
    return value


class TLSConfig(BaseModel):
    """TLS settings of an https probe. Verification is on unless insecure_skip_verify is true."""

    model_config = ConfigDict(extra="forbid")

    ca_file: Path | None = Field(None, description="PEM CA bundle used instead of the system trust store")
    cert_file: Path | None = Field(None, description="client certificate (PEM)")
    key_file: Path | None = Field(None, description="client key (PEM); requires cert_file")
    server_name: str | None = Field(None, description="name sent as SNI and verified in the certificate")
    insecure_skip_verify: bool = Field(False, description="do not verify the server certificate")

    @model_validator(mode="after")
    def _pairs(self) -> TLSConfig:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file requires cert_file")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {str(path)!r} does not exist or is not a file")
        return self


def _expand_env(value: str) -> str:
    """`${VAR}` → the variable's value; a variable that is not set is an error naming it."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} (used as ${{{name}}}) is not set")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", one, value)


def _inline_secret(value: object) -> None:
    if value is not None:
        raise ValueError("secrets are not accepted in the config text; use the _file or _env form of this key")


def _listen_address(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid address {value!r}: use HOST:PORT, like 127.0.0.1:9143")
    return value


class ServerTLSConfig(BaseModel):
    """TLS of an extra listener (webhook receiver, events API): certificate and key files (PEM)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path = Field(description="server certificate chain (PEM); re-read at reload")
    key_file: Path | None = Field(None, description="private key (PEM), unless inside cert_file")

    @field_validator("cert_file", "key_file")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"{str(v)!r} does not exist or is not a file")
        return v


class SignatureConfig(BaseModel):
    """HMAC-SHA256 webhook signatures: header format, timestamp window and the keys (never in the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str = Field("X-Signature", description="header carrying the signature")
    prefix: str = Field("sha256=", description="text before the hex digest in the header")
    timestamp_header: str | None = Field("X-Timestamp", description="header with the Unix time of signing; null: none")
    signed_content: Literal["body", "timestamp.body"] = Field(
        "body", description="what is signed: the raw body, or `<timestamp>.<raw body>`"
    )
    tolerance: Duration = Field(300.0, description="accepted distance between the timestamp and now")
    secret_file: Path | None = Field(None, description="file holding the current key (surrounding whitespace dropped)")
    secret_env: str | None = Field(None, description="environment variable holding the current key")
    previous_secret_file: Path | None = Field(None, description="the previous key during a rotation (file)")
    previous_secret_env: str | None = Field(None, description="the previous key during a rotation (variable)")
    secret: SkipJsonSchema[Any] = Field(None, exclude=True)
    previous_secret: SkipJsonSchema[Any] = Field(None, exclude=True)
    _keys: tuple[bytes, ...] = PrivateAttr(())

    @field_validator("secret", "previous_secret")
    @classmethod
    def _no_inline(cls, v: object) -> None:
        _inline_secret(v)

    @field_validator("header", "timestamp_header")
    @classmethod
    def _header(cls, v: str | None) -> str | None:
        if v is not None and not _HEADER_NAME_RE.match(v):
            raise ValueError(f"invalid header name {v!r}")
        return v

    @field_validator("secret_file", "previous_secret_file")
    @classmethod
    def _secret_file(cls, v: Path | None) -> Path | None:
        from slakit.exporter.webhooks.secrets import read_secret_file

        if v is not None:
            read_secret_file(v)
        return v

    @field_validator("secret_env", "previous_secret_env")
    @classmethod
    def _secret_env(cls, v: str | None) -> str | None:
        from slakit.exporter.webhooks.secrets import read_secret_env

        if v is not None:
            read_secret_env(v)
        return v

    @model_validator(mode="after")
    def _load(self) -> SignatureConfig:
        from slakit.exporter.webhooks.secrets import load_secret

        if (self.secret_file is None) == (self.secret_env is None):
            raise ValueError("set exactly one of secret_file and secret_env")
        if self.previous_secret_file is not None and self.previous_secret_env is not None:
            raise ValueError("set at most one of previous_secret_file and previous_secret_env")
        keys = [load_secret(self.secret_file, self.secret_env)]
        if self.previous_secret_file is not None or self.previous_secret_env is not None:
            keys.append(load_secret(self.previous_secret_file, self.previous_secret_env))
        self._keys = tuple(keys)
        return self

    @property
    def keys(self) -> tuple[bytes, ...]:
        """The current key, then the previous one if configured (loaded when the config was loaded)."""
        return self._keys


class WebhookReceiverConfig(BaseModel):
    """The exporter's own webhook endpoint, where round-trip probes wait for their deliveries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen_address: str = Field(description="HOST:PORT of the receiver (apart from /metrics)")
    tls: ServerTLSConfig | None = Field(None, description="serve HTTPS with these files")
    path: str = Field("/webhooks", description="URL path deliveries are POSTed to")
    callback_url: str = Field(
        description="URL of THIS replica's receiver as the system under test must call it; ${VAR} is expanded"
    )
    replica_id: str = Field(
        default_factory=lambda: os.environ.get("HOSTNAME") or socket.gethostname(),
        description="this replica's id inside every correlation id; ${VAR} is expanded; default $HOSTNAME",
    )
    signature: SignatureConfig
    max_body_bytes: Size = Field(1024 * 1024, description="larger deliveries are refused with 413")

    @field_validator("listen_address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return _listen_address(v)

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9/_.~-]*", v):
            raise ValueError(f"path {v!r} must start with / and contain only letters, digits and / _ . ~ -")
        if v == "/api/v1/events":
            raise ValueError("path /api/v1/events is the events API's")
        return v

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, v: str) -> str:
        v = _expand_env(v)
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"callback_url must start with http:// or https:// (got {v!r})")
        return v

    @field_validator("replica_id")
    @classmethod
    def _replica(cls, v: str) -> str:
        v = _expand_env(v)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v):
            raise ValueError(f"replica_id {v!r} must be 1-64 letters, digits, '_', '.' or '-'")
        return v


class EventsAPIConfig(BaseModel):
    """`POST /api/v1/events`: outcomes reported by applications, with a bearer token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen_address: str = Field(description="HOST:PORT; may be the webhook receiver's (then one listener serves both)")
    tls: ServerTLSConfig | None = Field(None, description="serve HTTPS with these files")
    token_file: Path | None = Field(None, description="file holding the bearer token")
    token_env: str | None = Field(None, description="environment variable holding the bearer token")
    token: SkipJsonSchema[Any] = Field(None, exclude=True)
    services: list[str] = Field(min_length=1, description="the only services events may name")
    max_body_bytes: Size = Field(1024 * 1024, description="larger request bodies are refused with 413")
    max_events: int = Field(1000, ge=1, le=100_000, description="events per request at most")
    _token: bytes = PrivateAttr(b"")

    @field_validator("token")
    @classmethod
    def _no_inline(cls, v: object) -> None:
        _inline_secret(v)

    @field_validator("listen_address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return _listen_address(v)

    @field_validator("services")
    @classmethod
    def _services(cls, v: list[str]) -> list[str]:
        return [_label_value("service", s) for s in v]

    @field_validator("token_file")
    @classmethod
    def _token_file(cls, v: Path | None) -> Path | None:
        from slakit.exporter.webhooks.secrets import read_secret_file

        if v is not None:
            read_secret_file(v)
        return v

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, v: str | None) -> str | None:
        from slakit.exporter.webhooks.secrets import read_secret_env

        if v is not None:
            read_secret_env(v)
        return v

    @model_validator(mode="after")
    def _load(self) -> EventsAPIConfig:
        from slakit.exporter.webhooks.secrets import load_secret

        if (self.token_file is None) == (self.token_env is None):
            raise ValueError("set exactly one of token_file and token_env")
        self._token = load_secret(self.token_file, self.token_env)
        return self

    @property
    def bearer_token(self) -> bytes:
        return self._token


class WebhookProbeConfig(BaseModel):
    """Round trip: where the correlation id travels and what the delivery must contain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger_header: str | None = Field(
        "X-Correlation-Id", description="trigger request header carrying the correlation id; null: none"
    )
    delivery_header: str | None = Field(None, description="delivery header carrying the correlation id")
    delivery_field: str | None = Field(
        "correlation_id", description="dotted path of the correlation id in the delivery's JSON body"
    )
    expect: dict[str, Any] = Field(default_factory=dict, description="dotted JSON path → value the delivery must have")
    body_must_match: list[str] = Field(default_factory=list, description="regexes the delivery body must all match")

    @field_validator("trigger_header", "delivery_header")
    @classmethod
    def _header(cls, v: str | None) -> str | None:
        if v is not None and not _HEADER_NAME_RE.match(v):
            raise ValueError(f"invalid header name {v!r}")
        return v

    @field_validator("body_must_match")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _where(self) -> WebhookProbeConfig:
        if self.delivery_header is None and self.delivery_field is None:
            raise ValueError("set delivery_header or delivery_field: where the delivery carries the correlation id")
        return self


class OutboundWebhookConfig(BaseModel):
    """Outbound: how the sample payload sent to the customer's URL is signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signature: SignatureConfig


class ProbeConfig(BaseModel):
    """One probe: a target checked on its own interval, counted by the minute."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="probe name; the `probe` label. Unique within its service")
    service: str = Field(description="the `service` label: what the SLA contract is about")
    prober: Literal["http", "webhook", "outbound_webhook"] = Field("http", description="which prober runs this probe")
    url: str = Field(description="http:// or https:// URL")
    interval: Duration = Field(description="time between probe starts, like 15s")
    timeout: Duration = Field(description="one deadline for DNS, connect, TLS and response; < interval")
    method: str = Field("GET", description="HTTP method")
    headers: dict[str, str] = Field(default_factory=dict, description="request headers (values never logged)")
    body: str | None = Field(None, description="request body")
    valid_status_codes: Annotated[list[tuple[int, int]], BeforeValidator(parse_status_codes)] = Field(
        default_factory=lambda: [(200, 399)],
        description='accepted status codes: numbers and "lo-hi" ranges; default 200-399',
        json_schema_extra={"type": "array", "items": {"type": ["integer", "string"]}},
    )
    body_must_match: list[str] = Field(default_factory=list, description="regexes the body must all match")
    body_must_not_match: list[str] = Field(default_factory=list, description="regexes the body must not match")
    follow_redirects: bool = Field(True, description="follow 3xx responses with a Location header")
    max_redirects: int = Field(10, ge=0, le=100, description="more redirects than this fail with `redirects`")
    max_body_bytes: Size = Field(1024 * 1024, description="bytes read at most; more fail with `too_large`")
    tls: TLSConfig = Field(default_factory=TLSConfig)
    ip_protocol: Literal["ip4", "ip6"] | None = Field(None, description="address family to prefer")
    ip_protocol_fallback: bool = Field(True, description="use the other family when the preferred has none")
    minute_rule: Literal["all_failed", "any_failed", "failure_ratio"] = Field(
        "all_failed", description="when a minute counts as down"
    )
    minute_failure_ratio: float | None = Field(
        None,
        gt=0,
        le=1,
        validate_default=True,
        description="for minute_rule failure_ratio: down when failed/completed >= this",
    )
    duration_buckets: list[float] | None = Field(None, description="histogram buckets; default: top level")
    webhook: WebhookProbeConfig | None = Field(None, description="prober webhook: the round trip's correlation")
    outbound: OutboundWebhookConfig | None = Field(None, description="prober outbound_webhook: payload signing")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _label_value("name", v)

    @field_validator("service")
    @classmethod
    def _service(cls, v: str) -> str:
        return _label_value("service", v)

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z]+", v):
            raise ValueError(f"invalid HTTP method {v!r}: use upper-case letters, like GET or POST")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not _HEADER_NAME_RE.match(name):
                raise ValueError(f"invalid header name {name!r}")
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {name!r} contains a line break")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        from yarl import URL

        try:
            url = URL(v)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"invalid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not v.lower().startswith(("http://", "https://")):
            shown = str(url.with_password("xxxxx")) if url.password else v
            raise ValueError(f"URL must start with http:// or https:// (got {shown!r})")
        if not url.host:
            raise ValueError("URL has no host")
        return v

    @field_validator("body_must_match", "body_must_not_match")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return v

    @field_validator("duration_buckets")
    @classmethod
    def _buckets(cls, v: list[float] | None) -> list[float] | None:
        return None if v is None else _check_buckets(v)

    @model_validator(mode="after")
    def _consistent(self) -> ProbeConfig:
        if (self.prober == "webhook") != (self.webhook is not None):
            raise ValueError("a `webhook:` block is required with prober webhook, and only there")
        if (self.prober == "outbound_webhook") != (self.outbound is not None):
            raise ValueError("an `outbound:` block is required with prober outbound_webhook, and only there")
        if self.prober == "outbound_webhook" and self.method in ("GET", "HEAD"):
            raise ValueError("prober outbound_webhook sends a payload: set method POST (or PUT/PATCH)")
        return self

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval")
        if interval is not None and v >= interval:
            raise ValueError(f"timeout ({_fmt(v)}) must be shorter than interval ({_fmt(interval)})")
        return v

    @field_validator("minute_failure_ratio")
    @classmethod
    def _ratio(cls, v: float | None, info: ValidationInfo) -> float | None:
        rule = info.data.get("minute_rule")
        if rule == "failure_ratio" and v is None:
            raise ValueError("minute_rule failure_ratio requires minute_failure_ratio (0 < ratio <= 1)")
        if rule is not None and rule != "failure_ratio" and v is not None:
            raise ValueError("minute_failure_ratio is only used with minute_rule: failure_ratio")
        return v

    @field_validator("tls")
    @classmethod
    def _tls(cls, v: TLSConfig, info: ValidationInfo) -> TLSConfig:
        url = info.data.get("url")
        if isinstance(url, str) and url.startswith("http://") and v != TLSConfig():
            raise ValueError("tls settings need an https:// URL")
        return v

    @property
    def key(self) -> tuple[str, str]:
        """The probe's identity: counters survive a reload as long as this stays the same."""
        return (self.service, self.name)


class ExporterConfig(BaseModel):
    """The whole exporter config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    location: str | None = Field(None, description="adds a `location` label to every probe series")
    duration_buckets: list[float] = Field(
        default_factory=lambda: list(DEFAULT_DURATION_BUCKETS),
        description="default buckets of slakit_probe_duration_seconds",
    )
    probes: list[ProbeConfig] = Field(description="the probes; may be empty")
    webhook_receiver: WebhookReceiverConfig | None = Field(None, description="receiver of round-trip deliveries")
    events_api: EventsAPIConfig | None = Field(None, description="POST /api/v1/events for reported outcomes")
    state_dir: Path | None = Field(None, description="where log sources keep their read offsets (one file each)")
    sources: Annotated[list[SourceConfig], AfterValidator(check_sources)] = Field(
        default_factory=list, description="log files counted into the real-traffic metrics"
    )
    support_tickets: Annotated[list[SupportTicketsConfig], AfterValidator(check_support)] = Field(
        default_factory=list,
        description="services whose support tickets are tracked (events API `ticket` events, `tickets` sources); "
        "state in state_dir/support/<service>",
    )

    @field_validator("location")
    @classmethod
    def _location(cls, v: str | None) -> str | None:
        return None if v is None else _label_value("location", v)

    @field_validator("duration_buckets")
    @classmethod
    def _buckets(cls, v: list[float]) -> list[float]:
        return _check_buckets(v)

    @model_validator(mode="after")
    def _unique(self) -> ExporterConfig:
        if duplicates := self.duplicates():
            i, first = duplicates[0]
            raise ValueError(f"probes[{i}]: {_duplicate_message(self.probes[i], first)}")
        if self.webhook_receiver is None:
            for i, probe in enumerate(self.probes):
                if probe.prober == "webhook":
                    raise ValueError(f"probes[{i}]: prober webhook needs a top-level `webhook_receiver:`")
        tracked = {entry.service for entry in self.support_tickets}
        if self.support_tickets and self.state_dir is None:
            raise ValueError("support_tickets need a top-level state_dir where ticket state is kept")
        for i, source in enumerate(self.sources):
            if source.kind == "tickets" and source.service not in tracked:
                raise ValueError(f"sources[{i}]: service {source.service!r} has no support_tickets entry")
        receiver, events = self.webhook_receiver, self.events_api
        if receiver and events and receiver.listen_address == events.listen_address and receiver.tls != events.tls:
            raise ValueError("webhook_receiver and events_api share listen_address, so their `tls:` must be the same")
        return self

    def duplicates(self) -> list[tuple[int, int]]:
        """(index, index of the first definition) of every probe whose service+name repeats."""
        seen: dict[tuple[str, str], int] = {}
        found = []
        for i, probe in enumerate(self.probes):
            if probe.key in seen:
                found.append((i, seen[probe.key]))
            else:
                seen[probe.key] = i
        return found

    def buckets_for(self, probe: ProbeConfig) -> tuple[float, ...]:
        return tuple(probe.duration_buckets if probe.duration_buckets is not None else self.duration_buckets)


def _check_buckets(v: list[float]) -> list[float]:
    if not v:
        raise ValueError("needs at least one bucket")
    if any(not math.isfinite(b) for b in v):
        raise ValueError("buckets must be finite numbers (+Inf is always added)")
    if any(later <= earlier for earlier, later in itertools.pairwise(v)):
        raise ValueError("buckets must be strictly increasing")
    return v


def _duplicate_message(probe: ProbeConfig, first: int) -> str:
    return (
        f"probe {probe.name!r} of service {probe.service!r} is already defined at probes[{first}]; "
        "names must be unique per service"
    )


def _fmt(seconds: float) -> str:
    return durations.format_duration(seconds)


def load_config(path: str | Path) -> ExporterConfig:
    """Read and validate an exporter config; raises InputError naming file, field and line."""
    doc = YamlDocument.read(path)
    if doc.data is not None and not isinstance(doc.data, dict):
        raise InputError(Problem(doc.source, "the config must be a mapping with a `probes` list", line=1))
    data = doc.data if doc.data is not None else {}
    probes = data.get("probes")
    # Duplicates are reported per probe with their line, before the model's own (line-less) check.
    if isinstance(probes, list):
        seen: dict[tuple[Any, Any], int] = {}
        problems = []
        for i, probe in enumerate(probes):
            if not isinstance(probe, dict):
                continue
            key = (probe.get("service"), probe.get("name"))
            if key in seen and isinstance(key[0], str) and isinstance(key[1], str):
                msg = (
                    f"probe {key[1]!r} of service {key[0]!r} is already defined at probes[{seen[key]}]; "
                    "names must be unique per service"
                )
                loc = ["probes", i, "name"]
                problems.append(Problem(doc.source, msg, field=format_path(loc), line=doc.line_of(loc)))
            seen.setdefault(key, i)
        if problems:
            raise InputError(problems)
    if problems := duplicate_problems(doc):
        raise InputError(problems)
    return doc.validate(ExporterConfig)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config file (published by `make generate`)."""
    schema = ExporterConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slakit exporter config"
    return schema
