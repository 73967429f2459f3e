"""The shipped Kubernetes base as the tests see it: kustomize output, CRD schemas, mounted paths."""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "exporter" / "kubernetes"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
KUBERNETES_VERSION = "1.30"
CRD_SCHEMAS = {"PodMonitor": "podmonitor-v1.yaml", "PrometheusRule": "prometheusrule-v1.yaml"}
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

Obj = dict[str, Any]


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl (with its built-in kustomize) is not installed"
    return path


@functools.cache
def _build() -> str:
    proc = subprocess.run([kubectl(), "kustomize", str(KUBE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def build() -> list[Obj]:
    """`kubectl kustomize exporter/kubernetes`: every object of the base, as a user would apply it."""
    return [copy.deepcopy(doc) for doc in yaml.safe_load_all(_build()) if doc]


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def validate_builtin(obj: Obj) -> None:
    """Kubernetes' own schema for the pinned version, unknown fields rejected (kubernetes-validate, offline)."""
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@functools.cache
def _crd_validator(kind: str) -> jsonschema.protocols.Validator:
    data = yaml.safe_load((SCHEMAS / CRD_SCHEMAS[kind]).read_text(encoding="utf-8"))
    schema = strict(data["schema"])
    return jsonschema.Draft202012Validator(schema)


def validate_custom(obj: Obj) -> None:
    """A prometheus-operator object against its CRD's openAPIV3Schema, as the API server would check it."""
    _crd_validator(obj["kind"]).validate(obj)
    meta = obj["metadata"]
    assert len(meta["name"]) <= 253 and _DNS_SUBDOMAIN.match(meta["name"]), f"metadata.name {meta['name']!r}"
    for key, value in meta.get("labels", {}).items():
        assert re.fullmatch(r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", key), key
        assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", value), value


def strict(schema: Any) -> Any:
    """The schema with unknown fields forbidden wherever the CRD lists the fields of an object.

    The API server drops unknown fields of a structural schema, and `kubectl apply` (field validation
    `Strict` since 1.27) refuses them: a typo like `honorLabel` must fail here too.
    """
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def containers(deployment: Obj) -> dict[str, Obj]:
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def mounts(deployment: Obj, container: str) -> dict[str, Obj]:
    """mountPath → volume definition, for one container of a Deployment."""
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"].get("volumes", [])}
    return {m["mountPath"]: volumes[m["name"]] for m in containers(deployment)[container].get("volumeMounts", [])}


def materialize(objects: list[Obj], deployment: Obj, container: str, root: Path) -> dict[str, Path]:
    """Lay out a container's volumes under `root` as the kubelet would: mountPath → local directory.

    ConfigMap and Secret volumes get one file per key (from the built objects), emptyDirs start empty.
    """
    out = {}
    for i, (mount_path, volume) in enumerate(sorted(mounts(deployment, container).items())):
        local = root / f"vol{i}"
        local.mkdir(parents=True)
        if "configMap" in volume:
            files = one(objects, "ConfigMap", volume["configMap"]["name"])["data"]
        elif "secret" in volume:
            secret = one(objects, "Secret", volume["secret"]["secretName"])
            files = secret.get("stringData", {})
        else:
            assert "emptyDir" in volume, f"unexpected volume {volume}"
            files = {}
        for key, text in files.items():
            (local / key).write_text(text, encoding="utf-8")
        out[mount_path] = local
    return out


def relocate(text: str, mounted: dict[str, Path]) -> str:
    """Config text with every mounted path prefix replaced by its local directory (longest first)."""
    for mount_path in sorted(mounted, key=len, reverse=True):
        text = re.sub(re.escape(mount_path) + r"(?=/|\s|$)", str(mounted[mount_path]), text)
    return text
