"""Lay out generated rule files (and their promtool tests) in an output directory.

Prometheus format: one rule file per SLO (`<service>.<slo>.rules.yml`, so each SLO's promtool tests load
only its own rules), `<service>.support.rules.yml` for a spec with a support section, and
`slakit-meta.rules.yml` with the watchdog and the month-boundary tables every calendar SLO reads.
Operator format: one PrometheusRule per spec, and one for the meta groups.
Generate all specs in one run: the meta file holds the tables of every spec's time zone.
"""

from __future__ import annotations

from pathlib import Path

from slakit.errors import InputError
from slakit.rules.generator import meta_groups, slo_groups, spec_groups
from slakit.rules.periods import period_groups
from slakit.rules.render import Format, prometheus_rule, rule_file
from slakit.spec.model import SLO, Spec
from slakit.support.rules import support_groups

META = "slakit-meta"


def slo_file_stem(spec: Spec, slo: SLO) -> str:
    return f"{spec.service}.{slo.name}"


def rule_path(name: str, fmt: Format) -> str:
    return f"{name}.prometheusrule.yaml" if fmt == "operator" else f"{name}.rules.yml"


def render_all(specs: list[Spec], fmt: Format = "prometheus", tests: bool = True) -> dict[str, str]:
    """File name → content for every generated file; a pure function of the specs."""
    files: dict[str, str] = {}
    meta = meta_groups() + period_groups(specs)
    for spec in specs:
        source = Path(spec.source).name or spec.service
        if fmt == "operator":
            files[rule_path(spec.service, fmt)] = prometheus_rule(
                spec_groups(spec) + support_groups(spec),
                f"slakit-{spec.service}",
                source,
                {"slakit.dev/service": spec.service},
            )
        else:
            for slo in spec.slos:
                files[rule_path(slo_file_stem(spec, slo), fmt)] = rule_file(slo_groups(spec, slo), source)
            if support := support_groups(spec):
                files[rule_path(f"{spec.service}.support", fmt)] = rule_file(support, source)
    if fmt == "operator":
        files[rule_path(META, fmt)] = prometheus_rule(meta, META, "slakit", {})
    else:
        files[rule_path(META, fmt)] = rule_file(meta, "slakit")
    if tests and fmt == "prometheus":
        from slakit.rules.promtool_tests import test_files

        files.update(test_files(specs))
    return files


def write_rules(specs: list[Spec], output: str | Path, fmt: Format = "prometheus", tests: bool = True) -> list[Path]:
    out = Path(output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create output directory: {exc.strerror or exc}") from None
    written = []
    for name, content in sorted(render_all(specs, fmt, tests).items()):
        path = out / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
