"""Load YAML files into typed models, with errors that point at file, field path and line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from slakit.errors import InputError, Problem

Model = TypeVar("Model", bound=BaseModel)
# libyaml's loader when PyYAML was built with it (Debian's and PyPI's wheels are): ~10× faster.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FieldPath = Sequence[str | int]


class YamlDocument:
    """A parsed YAML document that still knows where each value was written."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        try:
            self.root = yaml.compose(text, Loader=Loader)
            self.data: Any = yaml.load(text, Loader=Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(Problem(source, f"invalid YAML: {problem}", line=line)) from None

    @classmethod
    def read(cls, path: str | Path) -> YamlDocument:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(Problem(str(path), f"cannot read file: {exc.strerror or exc}")) from None
        except UnicodeDecodeError:
            raise InputError(Problem(str(path), "file is not UTF-8 text")) from None
        return cls(str(path), text)

    def line_of(self, path: FieldPath) -> int | None:
        """The 1-based line of the value at `path`, or of its deepest existing parent."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == part:
                        # A missing nested value points at its key; an existing one at itself.
                        child = value
                        line = key.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
                line = child.start_mark.line + 1
            if child is None:
                return line
            node = child
        return line

    def validate(self, model: type[Model], context: dict[str, Any] | None = None) -> Model:
        """Validate the document against `model`, raising InputError with every problem found."""
        data = {} if self.data is None else self.data
        try:
            return model.model_validate(data, context=context)
        except ValidationError as exc:
            raise InputError(self.problems(exc)) from None

    def problems(self, exc: ValidationError) -> list[Problem]:
        found = []
        for err in exc.errors(include_url=False):
            loc = [p for p in err["loc"] if not _is_union_tag(p)]
            message = err["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            found.append(Problem(self.source, message, field=format_path(loc), line=self.line_of(loc)))
        return found


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the tag or model name of a union member into the location; users never wrote it.
    return isinstance(part, str) and (part.startswith("function-") or part[:1].isupper())


def format_path(path: FieldPath) -> str:
    """`probes[2].timeout` style path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_model(path: str | Path, model: type[Model], context: dict[str, Any] | None = None) -> Model:
    return YamlDocument.read(path).validate(model, context)
