"""Exporter config: the minimal form, defaults, the JSON Schema, and malformed configs with exact messages."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from slakit.errors import InputError
from slakit.exporter.config import ExporterConfig, json_schema, load_config, parse_status_codes
from slakit.yamlsource import Loader

# The parser's own words: libyaml's when PyYAML has it (slakit then uses it), else pure-Python PyYAML's.
BAD_INDENT = (
    "did not find expected '-' indicator"
    if Loader.__name__ == "CSafeLoader"
    else "expected <block end>, but found '<block mapping start>'"
)

MINIMAL = """\
probes:
  - name: erp-health
    service: erp-api
    url: http://127.0.0.1:8080/health
    interval: 15s
    timeout: 5s
"""

PROBE = """\
probes:
  - name: a
    service: s
    url: http://127.0.0.1/
    interval: 15s
    timeout: 5s
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_config(path)
    return [str(p).replace(str(path), "F") for p in info.value.problems]


def test_minimal_form_from_the_issue(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    (probe,) = config.probes
    assert (probe.name, probe.service, probe.url) == ("erp-health", "erp-api", "http://127.0.0.1:8080/health")
    assert (probe.interval, probe.timeout) == (15.0, 5.0)
    assert probe.valid_status_codes == [(200, 399)]
    assert probe.max_redirects == 10
    assert probe.max_body_bytes == 1024 * 1024
    assert probe.tls.insecure_skip_verify is False
    assert probe.minute_rule == "all_failed"
    assert probe.method == "GET"
    assert config.location is None
    assert config.buckets_for(probe) == (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def test_full_form(tmp_path: Path) -> None:
    text = MINIMAL.replace("probes:", "location: eu-1\nduration_buckets: [0.1, 1]\nprobes:") + textwrap.indent(
        textwrap.dedent("""\
            method: POST
            headers: {Authorization: Bearer secret}
            body: '{"ping": 1}'
            valid_status_codes: [200, "300-302"]
            body_must_match: ["ok"]
            body_must_not_match: ["error"]
            max_redirects: 3
            max_body_bytes: 64KiB
            ip_protocol: ip6
            ip_protocol_fallback: false
            minute_rule: failure_ratio
            minute_failure_ratio: 0.5
            duration_buckets: [0.5, 2]
            interval: 500ms
            timeout: 250ms
        """),
        "    ",
    )
    text = text.replace("    interval: 15s\n    timeout: 5s\n", "", 1)
    config = load_config(write(tmp_path, text))
    probe = config.probes[0]
    assert config.location == "eu-1"
    assert probe.valid_status_codes == [(200, 200), (300, 302)]
    assert probe.max_body_bytes == 65536
    assert (probe.interval, probe.timeout) == (0.5, 0.25)
    assert config.buckets_for(probe) == (0.5, 2.0)
    assert probe.minute_failure_ratio == 0.5


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "exporter" / "config.example.yaml")
    assert [p.name for p in config.probes] == ["self-health", "closed-port"]
    assert config.probes[0].url == "http://127.0.0.1:9141/-/healthy"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["F: probes: Field required"]),
        ("- just\n- a list\n", ["F:1: the config must be a mapping with a `probes` list"]),
        (
            PROBE + "   bad: [\n",
            [f"F:7: invalid YAML: {BAD_INDENT}"],
        ),
        ("probes: {name: a}\n", ["F:1: probes: Input should be a valid list"]),
        (PROBE + "    timout: 3s\n", ["F:7: probes[0].timout: Extra inputs are not permitted"]),
        (PROBE.replace("    timeout: 5s\n", ""), ["F:2: probes[0].timeout: Field required"]),
        (
            PROBE.replace("timeout: 5s", "timeout: 15s"),
            ["F:6: probes[0].timeout: timeout (15s) must be shorter than interval (15s)"],
        ),
        (
            PROBE.replace("interval: 15s", "interval: 15 seconds"),
            ["F:5: probes[0].interval: invalid duration '15 seconds': expected e.g. 30s, 5m, 1h30m, 500ms"],
        ),
        (
            PROBE.replace("interval: 15s", "interval: 0s"),
            ["F:5: probes[0].interval: duration '0s' must be greater than zero"],
        ),
        (
            PROBE.replace("http://127.0.0.1/", "ftp://127.0.0.1/"),
            ["F:4: probes[0].url: URL must start with http:// or https:// (got 'ftp://127.0.0.1/')"],
        ),
        (
            PROBE.replace("http://127.0.0.1/", "127.0.0.1:8080/health"),
            ["F:4: probes[0].url: URL must start with http:// or https:// (got '127.0.0.1:8080/health')"],
        ),
        (
            PROBE + PROBE.replace("probes:\n", "").replace("/\n", "/x\n"),
            [
                "F:7: probes[1].name: probe 'a' of service 's' is already defined at probes[0]; "
                "names must be unique per service"
            ],
        ),
        (
            PROBE.replace("name: a", 'name: "bad name"'),
            [
                "F:2: probes[0].name: name 'bad name' must start with a letter or digit and contain only "
                "letters, digits, '_', '.', ':' and '-' (at most 128 characters)"
            ],
        ),
        (
            PROBE + '    valid_status_codes: [200, "299-200"]\n',
            ["F:7: probes[0].valid_status_codes: status code range '299-200' is reversed"],
        ),
        (
            PROBE + "    valid_status_codes: [700]\n",
            ["F:7: probes[0].valid_status_codes: status code 700 is outside 100-599"],
        ),
        (
            PROBE + '    body_must_match: ["(unclosed"]\n',
            [
                "F:7: probes[0].body_must_match: invalid regular expression '(unclosed': "
                "missing ), unterminated subpattern at position 0"
            ],
        ),
        (
            PROBE + "    minute_rule: failure_ratio\n",
            [
                "F:2: probes[0].minute_failure_ratio: minute_rule failure_ratio requires "
                "minute_failure_ratio (0 < ratio <= 1)"
            ],
        ),
        (
            PROBE + "    minute_rule: most_failed\n",
            ["F:7: probes[0].minute_rule: Input should be 'all_failed', 'any_failed' or 'failure_ratio'"],
        ),
        (
            PROBE + "    minute_failure_ratio: 0.5\n",
            ["F:7: probes[0].minute_failure_ratio: minute_failure_ratio is only used with minute_rule: failure_ratio"],
        ),
        (
            PROBE + "    max_body_bytes: 1 megabyte\n",
            [
                "F:7: probes[0].max_body_bytes: invalid size '1 megabyte': use bytes or a unit "
                "(KiB, MiB, GiB, kB, MB, GB), e.g. 1MiB"
            ],
        ),
        (
            PROBE.replace("http://", "https://") + "    tls:\n      ca_file: /nonexistent/ca.pem\n",
            ["F:7: probes[0].tls: ca_file '/nonexistent/ca.pem' does not exist or is not a file"],
        ),
        (
            PROBE + "    tls:\n      insecure_skip_verify: true\n",
            ["F:7: probes[0].tls: tls settings need an https:// URL"],
        ),
        (
            PROBE.replace("http://", "https://") + "    tls:\n      key_file: /etc/hostname\n",
            ["F:7: probes[0].tls: key_file requires cert_file"],
        ),
        (PROBE + "    ip_protocol: ipv4\n", ["F:7: probes[0].ip_protocol: Input should be 'ip4' or 'ip6'"]),
        (
            "location: eu west\nprobes: []\n",
            [
                "F:1: location: location 'eu west' must start with a letter or digit and contain only "
                "letters, digits, '_', '.', ':' and '-' (at most 128 characters)"
            ],
        ),
        (
            "duration_buckets: [0.1, 0.05]\nprobes: []\n",
            ["F:1: duration_buckets: buckets must be strictly increasing"],
        ),
        (
            PROBE + '    headers:\n      Authorization: "Bearer x\\ny"\n',
            ["F:7: probes[0].headers: header 'Authorization' contains a line break"],
        ),
        (
            PROBE + "    method: get\n",
            ["F:7: probes[0].method: invalid HTTP method 'get': use upper-case letters, like GET or POST"],
        ),
        (
            PROBE + "    max_redirects: -1\n",
            ["F:7: probes[0].max_redirects: Input should be greater than or equal to 0"],
        ),
        (
            PROBE + "    prober: tcp\n",
            ["F:7: probes[0].prober: Input should be 'http', 'webhook' or 'outbound_webhook'"],
        ),
    ],
)
def test_malformed_config_messages(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(tmp_path, text) == expected


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = PROBE.replace("interval: 15s", "interval: soon") + "    retries: 3\n"
    assert problems(tmp_path, text) == [
        "F:5: probes[0].interval: invalid duration 'soon': expected e.g. 30s, 5m, 1h30m, 500ms",
        "F:7: probes[0].retries: Extra inputs are not permitted",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: cannot read file: No such file or directory"


def test_status_code_forms() -> None:
    assert parse_status_codes([200, "301-302", " 404 "]) == [(200, 200), (301, 302), (404, 404)]
    assert parse_status_codes(204) == [(204, 204)]
    with pytest.raises(ValueError, match="non-empty"):
        parse_status_codes([])


def test_json_schema_describes_the_config() -> None:
    schema = json_schema()
    json.dumps(schema)  # serialisable
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["probes"]
    assert schema["additionalProperties"] is False
    probe = schema["$defs"]["ProbeConfig"]
    assert set(probe["required"]) == {"name", "service", "url", "interval", "timeout"}
    assert probe["additionalProperties"] is False
    assert probe["properties"]["interval"]["type"] == ["string", "number"]
    pattern = re.compile(probe["properties"]["timeout"]["pattern"])
    assert [bool(pattern.match(d)) for d in ("15s", "1m30s", "500ms", "1.5s", "15 s", "15")] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert probe["properties"]["max_body_bytes"]["type"] == ["integer", "string"]
    assert probe["properties"]["minute_rule"]["enum"] == ["all_failed", "any_failed", "failure_ratio"]


def test_models_are_frozen_and_comparable(tmp_path: Path) -> None:
    a = load_config(write(tmp_path, MINIMAL, "a.yaml"))
    b = load_config(write(tmp_path, MINIMAL, "b.yaml"))
    assert a == b
    assert isinstance(a, ExporterConfig)
    assert a.probes[0].key == ("erp-api", "erp-health")


def test_url_password_is_masked_in_errors(tmp_path: Path) -> None:
    text = PROBE.replace("http://127.0.0.1/", "ftp://user:s3cret@127.0.0.1/")
    assert problems(tmp_path, text) == [
        "F:4: probes[0].url: URL must start with http:// or https:// (got 'ftp://user:xxxxx@127.0.0.1/')"
    ]


def test_json_schema_accepts_what_the_loader_accepts(tmp_path: Path) -> None:
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(json_schema())
    example = Path(__file__).parents[2] / "exporter" / "config.example.yaml"
    valid = [
        yaml.safe_load(MINIMAL),
        yaml.safe_load(example.read_text()),
        {
            "location": "eu-1",
            "probes": [
                {
                    "name": "a",
                    "service": "s",
                    "url": "https://127.0.0.1/",
                    "interval": "1.5s",
                    "timeout": 1,
                    "max_body_bytes": "64KiB",
                    "valid_status_codes": [200, "300-302"],
                    "tls": {"insecure_skip_verify": True},
                    "minute_rule": "failure_ratio",
                    "minute_failure_ratio": 0.5,
                }
            ],
        },
    ]
    for data in valid:
        assert list(validator.iter_errors(data)) == []
        path = write(tmp_path, yaml.safe_dump(data))
        load_config(path)  # and the loader agrees
    invalid = [
        {},
        {"probes": [{"name": "a", "service": "s", "url": "http://x/", "interval": "15 s", "timeout": "5s"}]},
        {"probes": [{"name": "a", "service": "s", "url": "http://x/", "interval": "15s", "timeout": "5s", "x": 1}]},
        {"probes": [], "location": 3},
    ]
    for data in invalid:
        assert list(validator.iter_errors(data)) != []
