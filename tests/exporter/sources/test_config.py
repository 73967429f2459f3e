"""Bad `sources:` configs exit 2 with file, line and field; a good one passes `slakit check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.exporter.test_cli import slakit

GOOD = """\
state_dir: {tmp}/state
probes: []
sources:
  - name: erp-access
    service: erp-api
    kind: requests
    path: {tmp}/access.log
    format: combined
  - name: erp-hooks
    service: erp-api
    kind: webhook_deliveries
    path: {tmp}/hooks.log
    format: json
    fields: {{result: delivery.state}}
    results: {{delivered: [delivered, ok], failed: [failed, error, timeout]}}
    start_at: beginning
"""


def check(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "exporter.yaml"
    path.write_text(text.format(tmp=tmp_path))
    result = slakit("check", "--exporter-config", str(path))
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr.replace(str(path), "FILE")


def test_good_config_passes(tmp_path: Path) -> None:
    code, err = check(tmp_path, GOOD)
    assert (code, err) == (0, "")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: requests", "kind: orders", "FILE:6: sources[0].kind: Input should be 'requests', "),
        (
            "    format: combined\n",
            "    format: combined\n    fields: {{status: s}}\n",
            "FILE:9: sources[0].fields: fields are for",
        ),
        ("name: erp-hooks", "name: erp-access", "FILE:9: sources[1].name: source 'erp-access' is already defined"),
        ("path: {tmp}/access.log", "path: logs/access.log", "FILE:7: sources[0].path: path 'logs/access.log' must"),
        ("start_at: beginning", "start_at: middle", "FILE:16: sources[1].start_at: Input should be 'end' or"),
        ("state_dir: {tmp}/state\n", "", "FILE:2: sources: sources need a top-level state_dir"),
        (
            "[failed, error, timeout]",
            "[failed, ok]",
            "FILE:15: sources[1].results: value 'ok' is listed for both",
        ),
        ("delivery.state}}", "delivery..state}}", "FILE:14: sources[1].fields: result: 'delivery..state' is not"),
        ("{{result: delivery", "{{status: delivery", "FILE:14: sources[1].fields: unknown key 'status'; kind"),
        ("{{delivered:", "{{ok:", "FILE:15: sources[1].results: unknown result 'ok'; use delivered, failed"),
        (
            "kind: webhook_deliveries",
            "kind: webhook_deliveries\n    max_line_bytes: 10",
            "FILE:12: sources[1].max_line_bytes: Input should be",
        ),
    ],
)
def test_bad_source_configs_exit_2_naming_file_line_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    code, err = check(tmp_path, GOOD.replace(old, new))
    assert code == 2
    assert err.startswith(f"slakit check: error: {message}"), err


def test_combined_json_mismatch(tmp_path: Path) -> None:
    text = (
        GOOD.replace("    format: json\n", "    format: combined\n")
        .replace("    fields:", "    #")
        .replace("    results:", "    #")
    )
    code, err = check(tmp_path, text)
    assert code == 2
    assert (
        "FILE:13: sources[1].format: format combined only gives requests; kind webhook_deliveries needs format json"
        in err
    )


def test_unwritable_state_dir_exits_2_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    path = tmp_path / "exporter.yaml"
    path.write_text(GOOD.format(tmp=tmp_path))
    from tests.exporter.targets import free_port

    result = slakit("exporter", "--config.file", str(path), "--web.listen-address", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert f"{path}: state_dir: cannot write read offsets to '{blocker}'" in result.stderr
