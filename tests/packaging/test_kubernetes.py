"""The Kubernetes base in exporter/kubernetes: valid objects, wired together as the docs say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from slakit.durations import parse_duration
from slakit.exporter.config import load_config
from tests.packaging.manifests import (
    KUBE,
    REPO,
    build,
    containers,
    materialize,
    mounts,
    one,
    relocate,
    validate_builtin,
    validate_custom,
)

CUSTOM_KINDS = {"PodMonitor", "PrometheusRule"}
SLAKIT_CONTAINERS = [("erp-api", "slakit"), ("slakit-prober", "slakit")]
DOCKERFILE_USER = 10001


def deployment(name: str) -> dict[str, Any]:
    return one(build(), "Deployment", name)


def test_the_base_builds_into_the_documented_objects() -> None:
    kinds = sorted((o["kind"], re.sub(r"-[a-z0-9]{10}$", "-<hash>", o["metadata"]["name"])) for o in build())
    assert kinds == [
        ("ConfigMap", "slakit-prober-<hash>"),
        ("ConfigMap", "slakit-sidecar-<hash>"),
        ("Deployment", "erp-api"),
        ("Deployment", "slakit-prober"),
        ("PodMonitor", "slakit-prober"),
        ("PodMonitor", "slakit-sidecar"),
        ("PrometheusRule", "slakit-employee-records"),
        ("PrometheusRule", "slakit-erp-api"),
        ("PrometheusRule", "slakit-meta"),
        ("Secret", "slakit-events-api"),
        ("Secret", "slakit-webhook-signing"),
        ("Service", "erp-api"),
    ]


@pytest.mark.parametrize("index", range(len(build())), ids=[f"{o['kind']}-{o['metadata']['name']}" for o in build()])
def test_every_object_validates_against_its_schema(index: int) -> None:
    obj = build()[index]
    if obj["kind"] in CUSTOM_KINDS:
        validate_custom(obj)
    else:
        validate_builtin(obj)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("Deployment", ["spec", "template", "spec", "containers", 0, "readinessProbes"], {}),
        ("Deployment", ["spec", "replicas"], "two"),
        ("PodMonitor", ["spec", "podMetricsEndpoints", 0, "honorLabel"], True),
        ("PodMonitor", ["spec", "podMetricsEndpoints", 0, "interval"], "15 seconds"),
        ("PrometheusRule", ["spec", "groups", 0, "interval"], "1 minute"),
        ("PrometheusRule", ["spec", "groups", 0, "rules", 0, "expression"], "up"),
    ],
)
def test_the_validation_catches_typos_and_wrong_types(kind: str, path: list[Any], value: Any) -> None:
    obj = next(o for o in build() if o["kind"] == kind)
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    validate = validate_custom if kind in CUSTOM_KINDS else validate_builtin
    with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)) as err:
        validate(obj)
    message = str(err.value)
    assert str(path[-1]) in message or str(value) in message, message


@pytest.mark.parametrize(("name", "container"), SLAKIT_CONTAINERS)
def test_slakit_containers_are_probed_sized_and_locked_down(name: str, container: str) -> None:
    c = containers(deployment(name))[container]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["slakit-metrics"] == 9141
    assert c["image"].endswith("/slakit:0.1.0")
    assert c["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "slakit-metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "slakit-metrics"}
    resources = c["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "cpu" not in resources["limits"], "a CPU limit throttles the event loop (docs/deployment.md)"
    assert _mebibytes(resources["limits"]["memory"]) >= 2 * 50, "idle RSS is ~50 MB"
    sec = c["securityContext"]
    assert sec["runAsNonRoot"] is True and sec["runAsUser"] == DOCKERFILE_USER
    assert sec["readOnlyRootFilesystem"] is True and sec["allowPrivilegeEscalation"] is False
    assert sec["capabilities"] == {"drop": ["ALL"]}
    assert deployment(name)["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    listen = [a for a in c["args"] if a.startswith("--web.listen-address=")]
    assert listen == ["--web.listen-address=0.0.0.0:9141"]
    assert "--config.file=/etc/slakit/config.yaml" in c["args"]


def _mebibytes(quantity: str) -> int:
    m = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert m, quantity
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


def test_the_sidecar_reads_the_access_log_the_api_writes() -> None:
    api = deployment("erp-api")
    config = yaml.safe_load((KUBE / "config" / "sidecar.yaml").read_text(encoding="utf-8"))
    (source,) = [s for s in config["sources"] if s["kind"] == "requests"]
    assert source == {
        "name": "erp-api-access",
        "service": "erp-api",
        "path": "/var/log/api/access.log",
        "kind": "requests",
        "format": "combined",
        "start_at": "beginning",
    }
    api_mounts, slakit_mounts = mounts(api, "api"), mounts(api, "slakit")
    log_dir = str(Path(source["path"]).parent)
    assert api_mounts[log_dir] is slakit_mounts[log_dir], "both containers must mount the same volume there"
    assert "emptyDir" in slakit_mounts[log_dir]
    ro = {m["mountPath"]: m.get("readOnly", False) for m in containers(api)["slakit"]["volumeMounts"]}
    assert ro[log_dir] is True, "the sidecar only reads the log"
    assert ro[config["state_dir"]] is False and "emptyDir" in slakit_mounts[config["state_dir"]]
    assert config["probes"] == [], "a sidecar dies with its pod: uptime is probed from outside"
    assert config["events_api"]["listen_address"].startswith("127.0.0.1:"), "events API: pod-local only"


def test_the_prober_is_outside_the_api_pods_and_sets_its_location() -> None:
    prober, api = deployment("slakit-prober"), deployment("erp-api")
    config = yaml.safe_load((KUBE / "config" / "prober.yaml").read_text(encoding="utf-8"))
    assert config["location"] == "in-cluster"
    api_labels = api["spec"]["template"]["metadata"]["labels"]
    prober_labels = prober["spec"]["template"]["metadata"]["labels"]
    assert not set(prober_labels.items()) <= set(api_labels.items()), "no shared selector: separate pods"
    service = one(build(), "Service", "erp-api")
    assert set(service["spec"]["selector"].items()) <= set(api_labels.items())
    health = next(p for p in config["probes"] if p["name"] == "erp-health")
    assert health["url"] == f"http://erp-api:{service['spec']['ports'][0]['port']}/health"
    assert prober["spec"]["replicas"] >= 2 and prober["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    # The round trip's callback reaches the replica that sent the trigger: its own pod IP.
    env = {e["name"]: e for e in containers(prober)["slakit"]["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    receiver = config["webhook_receiver"]
    port = int(receiver["listen_address"].rsplit(":", 1)[1])
    assert receiver["callback_url"].startswith(f"http://${{POD_IP}}:{port}/")
    assert port in {p["containerPort"] for p in containers(prober)["slakit"]["ports"]}


def test_every_uptime_probe_the_specs_name_is_probed_from_outside() -> None:
    config = yaml.safe_load((KUBE / "config" / "prober.yaml").read_text(encoding="utf-8"))
    probed = {(p["service"], p["name"]) for p in config["probes"]}
    for spec_file in sorted((REPO / "rules" / "specs").glob("*.yaml")):
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
        for slo in spec["slos"]:
            uptime = slo["sli"].get("uptime")
            if uptime:
                service = uptime.get("probe_service", spec["service"])
                assert {(service, name) for name in uptime["probes"]} <= probed, spec_file.name


def test_the_sidecar_counts_every_service_the_ratio_slos_read() -> None:
    config = yaml.safe_load((KUBE / "config" / "sidecar.yaml").read_text(encoding="utf-8"))
    counted = {s["service"] for s in config["sources"]} | set(config["events_api"]["services"])
    read = set()
    for spec_file in sorted((REPO / "rules" / "specs").glob("*.yaml")):
        for slo in yaml.safe_load(spec_file.read_text(encoding="utf-8"))["slos"]:
            ratio = slo["sli"].get("ratio")
            for selector in (ratio["errors"] + ratio["total"]) if ratio else []:
                if selector.startswith(("slakit_requests_total", "slakit_webhook_deliveries_total", "slakit_menu")):
                    read |= set(re.findall(r'service="([^"]+)"', selector))
    assert read and read <= counted


def test_podmonitors_honor_labels_and_timestamps_and_find_the_metrics_port() -> None:
    objects = build()
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    assert len(monitors) == 2
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        (target,) = [
            d
            for d in objects
            if d["kind"] == "Deployment"
            and set(selector.items()) <= set(d["spec"]["template"]["metadata"]["labels"].items())
        ]
        ports = {p["name"] for c in containers(target).values() for p in c.get("ports", [])}
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["honorLabels"] is True, "else our `service` label could become exported_service"
            assert endpoint.get("honorTimestamps", True) is True, "slakit_probe_minutes_total needs its timestamps"
            assert endpoint["port"] in ports
            assert parse_duration(endpoint["interval"]) <= 30, "a closed minute must be scraped within 60 s"
            assert parse_duration(endpoint["scrapeTimeout"]) < parse_duration(endpoint["interval"])


def test_secrets_hold_only_marked_placeholders() -> None:
    secrets = [o for o in build() if o["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        assert "data" not in secret, "base64 data hides what is committed; use stringData placeholders"
        assert secret["stringData"]
        for key, value in secret["stringData"].items():
            assert value.startswith("CHANGE-ME-"), f"{secret['metadata']['name']}.{key} is not a placeholder"


@pytest.mark.parametrize(("name", "container"), SLAKIT_CONTAINERS)
def test_shipped_exporter_configs_load_inside_their_containers(
    name: str, container: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap's config with the container's volumes laid out locally: every file it names exists there."""
    objects = build()
    dep = one(objects, "Deployment", name)
    mounted = materialize(objects, dep, container, tmp_path)
    config_text = (mounted["/etc/slakit"] / "config.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(config_text)
    for path in _file_paths(raw):
        on_volume = any(path == m or path.startswith(m + "/") for m in mounted)
        assert on_volume, f"{path} is on no volume of {name}/{container}"
    for env in containers(dep)[container].get("env", []):
        if env["name"] == "POD_IP":
            monkeypatch.setenv("POD_IP", "127.0.0.1")  # what the downward API provides
    local = tmp_path / "config.yaml"
    local.write_text(relocate(config_text, mounted), encoding="utf-8")
    config = load_config(local)
    assert config.model_dump(include={"location"}) == {"location": raw.get("location")}


def _file_paths(config: dict[str, Any]) -> list[str]:
    """Filesystem paths in an exporter config: state_dir, sources[].path and every *_file value."""
    paths = [config["state_dir"]] if "state_dir" in config else []
    paths += [s["path"] for s in config.get("sources", [])]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    paths.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    return paths
