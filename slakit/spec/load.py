"""Load and validate spec files once; everything downstream takes the typed `Spec`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from slakit.errors import InputError, Problem
from slakit.spec.model import Spec
from slakit.yamlsource import YamlDocument


def _load(path: str | Path) -> tuple[Spec, YamlDocument]:
    document = YamlDocument.read(path)
    return document.validate(Spec).model_copy(update={"source": str(path)}), document


def load_spec(path: str | Path) -> Spec:
    return _load(path)[0]


def load_specs(paths: Iterable[str | Path]) -> list[Spec]:
    """Every spec, or one InputError listing the problems of all of them."""
    specs: list[Spec] = []
    errors: list[InputError] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            spec, document = _load(path)
        except InputError as exc:
            errors.append(exc)
            continue
        if spec.service in seen:
            message = f"service {spec.service!r} is also defined in {seen[spec.service]}"
            errors.append(InputError(Problem(spec.source, message, "service", document.line_of(["service"]))))
        seen.setdefault(spec.service, spec.source)
        specs.append(spec)
    if errors:
        raise InputError.merge(errors)
    return specs


def json_schema() -> dict:
    """The published JSON Schema of the spec format."""
    schema = Spec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slakit SLO spec"
    return schema
