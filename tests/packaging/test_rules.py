"""The PrometheusRules under exporter/kubernetes/rules: what the generator makes from rules/specs, valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.packaging.manifests import KUBE, REPO, validate_custom
from tests.rules.promtool import check_rules

RULES = KUBE / "rules"
SPECS = sorted((REPO / "rules" / "specs").glob("*.yaml"))


def test_checked_in_prometheusrules_are_what_the_generator_writes(tmp_path: Path) -> None:
    """Regenerated from the example specs: any drift (spec or generator changed) fails here."""
    specs = [str(p.relative_to(REPO)) for p in SPECS]  # as `make generate` names them: the alerts quote the path
    cmd = [sys.executable, "-m", "slakit", "rules", "generate", *specs, "-o", str(tmp_path)]
    proc = subprocess.run([*cmd, "--format", "operator", "--no-tests"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    fresh = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}
    shipped = {p.name: p.read_text(encoding="utf-8") for p in RULES.iterdir()}
    assert sorted(shipped) == sorted(fresh)
    for name, text in fresh.items():
        assert shipped[name] == text, f"{name} drifted: regenerate exporter/kubernetes/rules (docs/deployment.md)"


def test_kustomization_applies_every_generated_rule() -> None:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = {r for r in kustomization["resources"] if r.startswith("rules/")}
    assert listed == {f"rules/{p.name}" for p in RULES.iterdir()}


@pytest.mark.parametrize("path", sorted(RULES.iterdir()), ids=lambda p: p.name)
def test_prometheusrule_validates_against_the_crd_and_promtool(path: Path, tmp_path: Path) -> None:
    obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
    validate_custom(obj)
    assert obj["spec"]["groups"], f"{path.name} has no rule groups"
    # What the operator hands to Prometheus is spec.groups as a rule file: promtool must accept it.
    rule_file = tmp_path / f"{path.stem}.rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}, sort_keys=False), encoding="utf-8")
    check_rules(rule_file)
