"""The events API: `POST /api/v1/events`, outcomes reported by applications themselves.

Body: one event object, or `{"events": [...]}` (at most `max_events`). Every event has a `type`; the type
names a registered `EventType` (a pydantic model and a function applying a valid event). A request is
all-or-nothing: every event is validated before any is applied. Built in: `webhook_delivery`, `menu_sync` and
`request`, which feed the real-traffic counters. Adding a type:

    api.registry.register("ticket", TicketEvent, lambda event: book.apply(event.model_dump()))
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from slakit.exporter.exposition import Family
from slakit.exporter.traffic import TrafficCounters, code_class
from slakit.yamlsource import format_path

if TYPE_CHECKING:
    from slakit.exporter.config import EventsAPIConfig

PATH = "/api/v1/events"
RESULTS = ("accepted", "unauthorized", "too_large", "unsupported_media_type", "malformed", "invalid", "conflict")
REQUESTS = Family("slakit_events_api_requests_total", "counter", "Requests to the events API, by result.")
TRAFFIC_KINDS = ("requests", "webhook_deliveries", "menu_syncs")


class ServiceEvent(BaseModel):
    """Common fields: the service (one the config declares) and how many outcomes the event stands for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    count: int = Field(1, ge=1, le=1_000_000, strict=True)

    @field_validator("service")
    @classmethod
    def _declared(cls, v: str, info: ValidationInfo) -> str:
        allowed = (info.context or {}).get("services", frozenset())
        if v not in allowed:
            raise ValueError(f"service {v!r} is not declared in events_api.services")
        return v


class WebhookDeliveryEvent(ServiceEvent):
    type: Literal["webhook_delivery"]
    result: Literal["delivered", "failed"]


class MenuSyncEvent(ServiceEvent):
    type: Literal["menu_sync"]
    result: Literal["ok", "failed"]


class RequestEvent(ServiceEvent):
    type: Literal["request"]
    status: int = Field(ge=100, le=599, strict=True, description="HTTP status code of the request")


@dataclass(frozen=True)
class EventType:
    model: type[BaseModel]
    apply: Callable[[Any], None]


class EventRegistry:
    """Event type name → how to validate it and what to do with a valid one."""

    def __init__(self) -> None:
        self.types: dict[str, EventType] = {}

    def register(self, name: str, model: type[BaseModel], apply: Callable[[Any], None]) -> None:
        if name in self.types:
            raise ValueError(f"event type {name!r} is already registered")
        self.types[name] = EventType(model, apply)


def traffic_registry(traffic: TrafficCounters) -> EventRegistry:
    registry = EventRegistry()
    registry.register(
        "webhook_delivery",
        WebhookDeliveryEvent,
        lambda e: traffic.add("webhook_deliveries", e.service, e.result, e.count),
    )
    registry.register("menu_sync", MenuSyncEvent, lambda e: traffic.add("menu_syncs", e.service, e.result, e.count))
    registry.register(
        "request",
        RequestEvent,
        lambda e: traffic.add("requests", e.service, code_class(e.status) or "5xx", e.count),
    )
    return registry


class BadRequest(Exception):
    def __init__(self, status: int, result: str, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.result, self.message, self.field, self.extra = status, result, message, field, extra

    def response(self) -> web.Response:
        body = {"error": self.message, "field": self.field, **self.extra}
        headers = {"WWW-Authenticate": 'Bearer realm="slakit"'} if self.status == 401 else None
        return web.json_response(body, status=self.status, headers=headers)


class EventsAPI:
    def __init__(self, traffic: TrafficCounters) -> None:
        self.traffic = traffic
        self.registry = traffic_registry(traffic)
        self.config: EventsAPIConfig | None = None
        self.counts = dict.fromkeys(RESULTS, 0)

    def configure(self, config: EventsAPIConfig | None) -> None:
        self.config = config
        if config is not None:
            for kind in TRAFFIC_KINDS:
                self.traffic.declare(kind, config.services)

    async def handle(self, request: web.Request) -> web.Response:
        from slakit.exporter.listeners import BodyTooLarge, read_limited

        config = self.config
        if config is None:
            raise web.HTTPNotFound()
        try:
            self._authorize(request, config.bearer_token)
            if request.content_type != "application/json":
                raise BadRequest(415, "unsupported_media_type", "Content-Type must be application/json")
            try:
                body = await read_limited(request, config.max_body_bytes)
            except BodyTooLarge:
                raise BadRequest(413, "too_large", f"request body exceeds {config.max_body_bytes} bytes") from None
            events = self._validate(body, config)
        except BadRequest as exc:
            self.counts[exc.result] += 1
            return exc.response()
        for i, (model, event_type) in enumerate(events):
            try:
                event_type.apply(model)
            except ValueError as exc:  # contradicts stored state (a ticket event for an unknown ticket, ...)
                self.counts["conflict"] += 1
                message = f"event {i} refused: {exc} (events before it were applied; resending is safe: ids dedupe)"
                return BadRequest(409, "conflict", message, f"events[{i}]" if len(events) > 1 else None).response()
        self.counts["accepted"] += 1
        return web.json_response({"accepted": len(events)}, status=202)

    @staticmethod
    def _authorize(request: web.Request, token: bytes) -> None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
            raise BadRequest(401, "unauthorized", "missing or wrong bearer token", "Authorization")

    def _validate(self, body: bytes, config: EventsAPIConfig) -> list[tuple[Any, EventType]]:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: hostile nesting
            raise BadRequest(400, "malformed", f"body is not valid JSON: {type(exc).__name__}: {exc}") from None
        if isinstance(payload, dict) and "events" in payload:
            if set(payload) != {"events"}:
                extra = sorted(set(payload) - {"events"})[0]
                raise BadRequest(422, "invalid", "unknown top-level field (use only `events`)", extra)
            items, prefix = payload["events"], ["events"]
            if not isinstance(items, list) or not items:
                raise BadRequest(422, "invalid", "`events` must be a non-empty list of event objects", "events")
            if len(items) > config.max_events:
                raise BadRequest(422, "invalid", f"at most {config.max_events} events per request", "events")
        elif isinstance(payload, dict):
            items, prefix = [payload], []
        else:
            raise BadRequest(422, "invalid", 'body must be an event object or {"events": [...]}')
        context = {"services": frozenset(config.services)}
        valid = []
        for i, item in enumerate(items):
            where: list[str | int] = [*prefix, i] if prefix else []
            if not isinstance(item, dict):
                raise BadRequest(422, "invalid", "an event must be a JSON object", format_path(where))
            name = item.get("type")
            event_type = self.registry.types.get(name) if isinstance(name, str) else None
            if event_type is None:
                known = ", ".join(sorted(self.registry.types))
                raise BadRequest(422, "invalid", f"unknown event type {name!r}; known: {known}", _path(where, "type"))
            try:
                valid.append((event_type.model.model_validate(item, context=context), event_type))
            except ValidationError as exc:
                errors = [
                    {"field": format_path([*where, *err["loc"]]), "error": err["msg"].removeprefix("Value error, ")}
                    for err in exc.errors(include_url=False, include_input=False)
                ]
                raise BadRequest(422, "invalid", errors[0]["error"], errors[0]["field"], errors=errors) from None
        return valid

    def render(self, openmetrics: bool) -> list[str]:
        if self.config is None:
            return []
        lines = [REQUESTS.header(openmetrics)]
        lines += [f'{REQUESTS.name}{{result="{r}"}} {n}\n' for r, n in self.counts.items()]
        return ["".join(lines)]


def _path(where: list[str | int], name: str) -> str:
    return format_path([*where, name])
