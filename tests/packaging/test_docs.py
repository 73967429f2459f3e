"""docs/deployment.md: every scrape config it shows keeps slakit's labels and timestamps."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.packaging.manifests import KUBE, REPO, validate_custom

DOC = REPO / "docs" / "deployment.md"


def yaml_blocks() -> list[Any]:
    text = DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


def test_every_servicemonitor_and_podmonitor_shown_honors_labels_and_timestamps() -> None:
    monitors = [b for b in yaml_blocks() if isinstance(b, dict) and b.get("kind") in ("ServiceMonitor", "PodMonitor")]
    assert {m["kind"] for m in monitors} == {"ServiceMonitor", "PodMonitor"}
    for monitor in monitors:
        key = "endpoints" if monitor["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
        for endpoint in monitor["spec"][key]:
            assert endpoint["honorLabels"] is True, monitor["metadata"]["name"]
            assert endpoint.get("honorTimestamps", True) is True


def test_the_podmonitor_shown_is_valid_and_matches_the_shipped_one() -> None:
    (shown,) = [b for b in yaml_blocks() if isinstance(b, dict) and b.get("kind") == "PodMonitor"]
    validate_custom(shown)
    shipped = next(
        d
        for d in yaml.safe_load_all((KUBE / "podmonitors.yaml").read_text(encoding="utf-8"))
        if d["metadata"]["name"] == shown["metadata"]["name"]
    )
    assert shown["spec"]["selector"] == shipped["spec"]["selector"]
    (endpoint,) = shown["spec"]["podMetricsEndpoints"]
    (real,) = shipped["spec"]["podMetricsEndpoints"]
    assert {k: real[k] for k in endpoint} == endpoint


def test_plain_prometheus_scrape_configs_shown_honor_labels_and_timestamps() -> None:
    configs = [b for b in yaml_blocks() if isinstance(b, dict) and "scrape_configs" in b]
    assert configs
    for config in configs:
        for job in config["scrape_configs"]:
            assert job["honor_labels"] is True
            assert job.get("honor_timestamps", True) is True
