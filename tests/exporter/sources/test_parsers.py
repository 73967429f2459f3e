"""Line parsers: combined/common and JSON lines → status classes, results and reject reasons."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from slakit.exporter.sources.config import SourceConfig
from slakit.exporter.sources.parsers import combined, combined_status, json_lines

NGINX = '203.0.113.9 - alice [23/Nov/2026:18:14:45 +0000] "{request}" {status} {size} "{referer}" "{agent}"'


def nginx(status: object = 200, request: str = "GET /api/v1/orders?id=7 HTTP/1.1", size: object = 1234) -> str:
    return NGINX.format(request=request, status=status, size=size, referer="-", agent="curl/8.5 (x86_64)")


def source(**kw: object) -> SourceConfig:
    base = {"name": "s", "service": "erp-api", "kind": "requests", "path": "/var/log/x.log", "format": "json"}
    return SourceConfig.model_validate(base | kw)


def block(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def test_combined_counts_by_class_and_rejects_with_reasons() -> None:
    tally = combined(
        block(
            nginx(200),
            nginx(503),
            nginx(404, size="-"),  # no body: `-`
            nginx(499),  # nginx' client-closed code is a 4xx
            '10.0.0.1 - - [23/Nov/2026:18:14:45 +0000] "GET / HTTP/1.0" 301 0',  # common log format
            nginx(200, request=r"GET /a\" 500 b HTTP/1.1"),  # Apache escapes quotes in the request as \"
            nginx(201, request=r"GET /a\x22 500 HTTP/1.1"),  # nginx escapes them as \x22
            nginx(200, request=""),  # empty request (a client that sent nothing): status still found
            nginx(200) + "\r",  # CRLF line ends
            nginx(999),  # three digits, not a status
            nginx("20x"),
            "garbage",
            "",  # an empty line is a line, and not a log entry
            '1.2.3.4 - - [23/Nov/2026:18:14:45 +0000] "GET / HTTP/1.1"',  # cut before the status
        )
    )
    assert tally.lines == 14
    assert tally.values == {"2xx": 5, "5xx": 1, "4xx": 2, "3xx": 1}
    assert tally.rejected == {"bad_status": 1, "malformed": 4}


def test_combined_escaped_backslash_before_the_closing_quote() -> None:
    # `\\"`: an escaped backslash ends the request; the quote after it is the real one
    assert combined_status(nginx(502, request="GET /x\\\\").encode()) == "5xx"


@st.composite
def nginx_lines(draw: st.DrawFn) -> tuple[str, int]:
    status = draw(st.integers(100, 599))
    # any printable request as nginx writes it: `"` and `\` escaped as \x22 and \x5C
    raw = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
    request = raw.replace("\\", "\\x5C").replace('"', "\\x22")
    agent = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
    agent = agent.replace("\\", "\\x5C").replace('"', "\\x22")
    size = draw(st.one_of(st.just("-"), st.integers(0, 10**9).map(str)))
    line = NGINX.format(request=request, status=status, size=size, referer="-", agent=agent)
    return line, status


@given(st.lists(nginx_lines(), max_size=30), st.lists(st.binary(max_size=60), max_size=5))
def test_combined_property_every_line_is_counted_once(good: list[tuple[str, int]], junk: list[bytes]) -> None:
    junk = [j.replace(b"\n", b"") for j in junk]
    data = block(*(line for line, _ in good)) + b"".join(j + b"\n" for j in junk)
    tally = combined(data)
    assert tally.lines == len(good) + len(junk)
    assert sum(tally.values.values()) + sum(tally.rejected.values()) == tally.lines
    for cls in ("1xx", "2xx", "3xx", "4xx", "5xx"):
        expected = sum(1 for _, s in good if f"{s // 100}xx" == cls)
        assert expected <= tally.values.get(cls, 0) <= expected + len(junk)  # junk may look like a log line


def test_json_status_field_configurable_and_nested() -> None:
    parse = json_lines(source(fields={"status": "response.code"}))
    tally = parse(
        block(
            json.dumps({"response": {"code": 200}}),
            json.dumps({"response": {"code": "503"}}),  # as nginx' escape=json writes `"$status"`
            json.dumps({"response": {"code": 42}}),
            json.dumps({"response": {"code": True}}),
            json.dumps({"response": {"code": None}}),
            json.dumps({"response": 200}),  # path does not lead to the field
            json.dumps({"status": 200}),
            json.dumps([1, 2]),
            '{"response": {"code": 200}',  # cut short
            "\xff not utf-8".encode("latin-1").decode("latin-1"),
        )
    )
    assert tally.values == {"2xx": 1, "5xx": 1}
    assert tally.rejected == {"bad_status": 3, "missing_field": 2, "malformed": 3}
    assert tally.lines == 10


def test_json_invalid_utf8_is_malformed_not_fatal() -> None:
    tally = json_lines(source())(b'{"status": 200}\n\xff\xfe{"status": 200}\n')
    assert (tally.values, tally.rejected) == ({"2xx": 1}, {"malformed": 1})


def test_json_results_mapping() -> None:
    parse = json_lines(
        source(
            kind="webhook_deliveries",
            fields={"result": "outcome"},
            results={"delivered": ["delivered", "ok", True, 200], "failed": ["failed", "error", "timeout"]},
        )
    )
    lines = [json.dumps({"outcome": v}) for v in ("ok", "delivered", True, 200, "timeout", "error", "maybe", False)]
    tally = parse(block(*lines, json.dumps({"result": "ok"})))
    assert tally.values == {"delivered": 4, "failed": 2}
    assert tally.rejected == {"unknown_value": 2, "missing_field": 1}


def test_json_default_result_names() -> None:
    parse = json_lines(source(kind="menu_syncs"))
    tally = parse(block('{"result": "ok"}', '{"result": "failed"}', '{"result": "delivered"}'))
    assert tally.values == {"ok": 1, "failed": 1}
    assert tally.rejected == {"unknown_value": 1}


def test_source_path_must_be_absolute(tmp_path: Path) -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError, match="must be absolute"):
        source(path="logs/x.log")
    assert source(path=str(tmp_path / "x.log")).path == tmp_path / "x.log"


def test_json_fast_path_and_general_path_agree() -> None:
    """UTF-8 blocks go through the C scanner directly; a block with invalid UTF-8 line by line via json.loads."""
    parse = json_lines(source())
    cases = [
        '{"status": 200}',
        '  {"status": 500}',  # leading whitespace: valid JSON
        '{"status": 404}\r',  # CRLF line end
        '{"status": 200} trailing',
        '{"status": 200}{"status": 500}',
        '{"status": "2xx"}',
        '{"status": 301, "msg": "caf\u00e9 \\u2028"}',
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
        "{" * 100_000,  # deeper than the recursion limit: malformed, not a crash
    ]
    fast = parse(block(*cases))
    slow = parse(block(*cases) + b"\xff\n")
    assert fast.values == slow.values == {"2xx": 1, "5xx": 1, "4xx": 1, "3xx": 1}
    assert fast.rejected == {"malformed": 4, "bad_status": 1}
    assert slow.rejected == {"malformed": 5, "bad_status": 1}
