"""Line parsers: a block of complete lines → counts per label value and per reject reason.

Both parsers work on bytes (no decoding of lines that are not needed as text) and count a whole block in one
call, so the per-line cost is a few C-level `find`s (combined) or one `json.loads` (JSON lines).
"""

from __future__ import annotations

import json
import json.scanner
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from slakit.exporter.sources.config import SourceConfig, normalize

log = logging.getLogger("slakit.exporter.sources")

# b"100".."599" → "1xx".."5xx": one dict lookup validates and classifies a status
_CLASSES: dict[bytes, str] = {b"%d" % s: f"{s // 100}xx" for s in range(100, 600)}
_STATUS_SPACE: dict[bytes, str] = {k + b" ": v for k, v in _CLASSES.items()}
_CLASSES_STR: dict[str, str] = {k.decode(): v for k, v in _CLASSES.items()}


@dataclass
class Tally:
    """What one block of lines counted to."""

    lines: int = 0
    values: dict[str, int] = field(default_factory=dict)  # label value → events
    rejected: dict[str, int] = field(default_factory=dict)  # reason → lines

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n


Parser = Callable[[bytes], Tally]


def combined_status(line: bytes) -> str:
    """The status class of one combined/common log line, or a reject reason prefixed with `!`.

    The status is the 3-digit field right after the request (`"GET / HTTP/1.1" 200 …`), found after the
    `] "` that ends the timestamp. Quotes inside the request are escaped by nginx (`\\x22`) and Apache (`\\"`).
    """
    i = line.find(b'] "')
    if i < 0:
        return "!malformed"
    j = line.find(b'" ', i + 3)
    while j > 0 and line[j - 1] == 0x5C:  # `\"`: an escaped quote inside the request (Apache)
        k = j - 1
        while k > i and line[k - 1] == 0x5C:
            k -= 1
        if (j - k) % 2 == 0:  # `\\"`: an escaped backslash, then the real closing quote
            break
        j = line.find(b'" ', j + 1)
    if j < 0:
        return "!malformed"
    status = line[j + 2 : j + 5]
    end = line[j + 5 : j + 6]
    if end not in (b" ", b"", b"\r") or len(status) != 3 or not status.isdigit():
        return "!malformed"
    return _CLASSES.get(status, "!bad_status")


def combined(block: bytes) -> Tally:
    """Count a block of combined/common log lines (each ending with `\\n`) by status class."""
    counts: dict[str, int] = {}
    get = counts.get
    lines = block.split(b"\n")
    lines.pop()  # after the last `\n`
    for line in lines:
        i = line.find(b'] "')
        j = line.find(b'" ', i + 3) if i >= 0 else -1
        # fast path: a plain line (no backslash before the closing quote, the status followed by a space)
        cls = _STATUS_SPACE.get(line[j + 2 : j + 6]) if j > 0 and line[j - 1] != 0x5C else None
        if cls is None:
            cls = combined_status(line)
        counts[cls] = get(cls, 0) + 1
    return _split(len(lines), counts)


def _split(n: int, counts: Mapping[str, int]) -> Tally:
    tally = Tally(lines=n)
    for key, count in counts.items():
        if key[0] == "!":
            tally.reject(key[1:], count)
        else:
            tally.values[key] = count
    return tally


def json_lines(config: SourceConfig) -> Parser:
    """A parser of JSON lines reading the configured field (dotted path) as status or result."""
    path = config.field_path
    single = path[0] if len(path) == 1 else None
    loads = json.loads
    scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
    requests = config.kind == "requests"
    value_map = config.value_map

    def classify(value: object) -> str:
        if requests:
            if isinstance(value, bool):
                return "!bad_status"
            if isinstance(value, int):
                return _CLASSES_STR.get(str(value), "!bad_status")
            if isinstance(value, str):
                return _CLASSES_STR.get(value.strip(), "!bad_status")
            return "!bad_status"
        text = normalize(value)
        return value_map.get(text, "!unknown_value") if text is not None else "!unknown_value"

    def classify_line(line: str | bytes) -> str:
        """The slow, general path: json.loads (leading whitespace, invalid UTF-8, errors)."""
        try:
            obj = loads(line)
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            return "!malformed"
        if type(obj) is not dict:
            return "!malformed"
        return _dotted(obj, path, classify)

    def parse(block: bytes) -> Tally:
        try:
            lines: list[str] | list[bytes] = block.decode().split("\n")
        except UnicodeDecodeError:  # some line is not UTF-8: the general path, line by line
            lines = block.split(b"\n")
            lines.pop()
            counts = Counter(map(classify_line, lines))
            return _split(len(lines), counts)
        lines.pop()
        counts: dict[str, int] = {}
        get = counts.get
        for line in lines:
            # the C scanner behind json.loads, without its per-call wrapper (twice as fast on short lines)
            try:
                obj, end = scan(line, 0)
            except (StopIteration, ValueError, RecursionError):
                key = classify_line(line)
            else:
                if end != len(line) and not line[end:].isspace():
                    key = "!malformed"  # trailing garbage after the object
                elif type(obj) is not dict:
                    key = "!malformed"
                elif single is not None:
                    key = classify(obj[single]) if single in obj else "!missing_field"
                else:
                    key = _dotted(obj, path, classify)
            counts[key] = get(key, 0) + 1
        return _split(len(lines), counts)

    return parse


def _dotted(obj: dict, path: tuple[str, ...], classify: Callable[[object], str]) -> str:
    value: object = obj
    for part in path:
        if type(value) is not dict or part not in value:
            return "!missing_field"
        value = value[part]  # type: ignore[index]
    return classify(value)


def ticket_events(apply: Callable[[Mapping], object]) -> Parser:
    """Ticket event lines (docs/support.md) handed to `apply` one by one; refused events are `invalid_event`."""

    def parse(block: bytes) -> Tally:
        tally = Tally()
        for line in block.splitlines():
            tally.lines += 1
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                tally.reject("malformed")
                continue
            try:
                apply(event)
            except ValueError as exc:
                tally.reject("invalid_event")
                log.warning("ticket event refused: %s", exc)
        return tally

    return parse


def build_parser(config: SourceConfig, tickets: Callable[[str, Mapping], object] | None = None) -> Parser:
    """The parser of a source; `tickets(service, event)` receives the events of a `tickets` source."""
    if config.kind == "tickets":
        assert tickets is not None, "a tickets source needs the exporter's ticket desk"
        service = config.service
        return ticket_events(lambda event: tickets(service, event))
    return combined if config.format == "combined" else json_lines(config)
