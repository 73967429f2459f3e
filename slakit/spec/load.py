"""Load and validate spec files once; everything downstream takes the typed `Spec`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from slakit.errors import InputError, Problem
from slakit.spec.model import Spec
from slakit.yamlsource import YamlDocument


def load_spec(path: str | Path) -> Spec:
    document = YamlDocument.read(path)
    spec = document.validate(Spec)
    return spec.model_copy(update={"source": str(path)})


def load_specs(paths: Iterable[str | Path]) -> list[Spec]:
    """Every spec, or one InputError listing the problems of all of them."""
    specs: list[Spec] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            specs.append(load_spec(path))
        except InputError as exc:
            errors.append(exc)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.service in seen:
            errors.append(
                InputError(
                    Problem(
                        spec.source,
                        f"service {spec.service!r} is also defined in {seen[spec.service]}",
                        field="service",
                    )
                )
            )
        seen.setdefault(spec.service, spec.source)
    if errors:
        raise InputError.merge(errors)
    return specs


def json_schema() -> dict:
    """The published JSON Schema of the spec format."""
    schema = Spec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slakit SLO spec"
    return schema
