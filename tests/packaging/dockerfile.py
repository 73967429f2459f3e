"""A small Dockerfile reader: instructions per build stage, exec-form arguments, ENV values."""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV, ...
    args: str  # the rest of the (continued) line


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.image} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """ENV KEY=VALUE pairs of this stage (the `ENV KEY VALUE` form is not used here)."""
        out = {}
        for instruction in self.all("ENV"):
            for pair in shlex.split(instruction.args):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV {instruction.args!r}: use KEY=VALUE"
                out[key] = value
        return out


@dataclass
class Dockerfile:
    args: dict[str, str]  # ARG defaults declared before the first FROM
    stages: list[Stage]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        args: dict[str, str] = {}
        stages: list[Stage] = []
        for instruction in _instructions(path.read_text(encoding="utf-8")):
            if instruction.keyword == "FROM":
                m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", instruction.args, re.IGNORECASE)
                assert m, f"FROM {instruction.args!r}"
                image = re.sub(r"\$\{(\w+)\}", lambda v: args[v.group(1)], m.group(1))
                stages.append(Stage(image, m.group(2)))
            elif not stages and instruction.keyword == "ARG":
                key, _, value = instruction.args.partition("=")
                args[key] = value
            else:
                assert stages, f"{instruction.keyword} before the first FROM"
                stages[-1].instructions.append(instruction)
        return cls(args, stages)


def exec_form(args: str) -> list[str]:
    """`["a", "b"]` → ["a", "b"]; the shell form is refused (signals would go to /bin/sh, not slakit)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not exec form: {args}"
    return value


def healthcheck(args: str) -> tuple[dict[str, str], list[str]]:
    """`--interval=30s ... CMD [...]` → ({"interval": "30s", ...}, the exec-form command)."""
    options, sep, command = args.partition("CMD ")
    assert sep, f"HEALTHCHECK {args!r} has no CMD"
    flags = dict(opt.removeprefix("--").split("=", 1) for opt in options.split())
    return flags, exec_form(command)


def image_argv(stage: Stage, config: Path, port: int) -> list[str]:
    """The stage's ENTRYPOINT + CMD, with the config file and a 127.0.0.1 listen address replaced.

    `slakit` is the console script next to this Python (what `pip install` puts on the image's PATH).
    """
    entrypoint = exec_form(stage.last("ENTRYPOINT").args)
    cmd = exec_form(stage.last("CMD").args)
    replace = {"--config.file": str(config), "--web.listen-address": f"127.0.0.1:{port}"}
    for i, arg in enumerate(cmd[:-1]):
        if arg in replace:
            cmd[i + 1] = replace.pop(arg)
    assert not replace, f"CMD lacks {sorted(replace)}"
    script = Path(sys.executable).with_name(entrypoint[0])
    assert script.exists(), f"{script}: slakit's console script (pip install -e .)"
    return [str(script), *entrypoint[1:], *cmd]


def _instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker too
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        out.append(Instruction(keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out
