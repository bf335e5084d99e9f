"""deploy/terraform read with python-hcl2, normalised for assertions.

`terraform validate` needs the providers, which cannot be downloaded here, so the tests read
the HCL themselves. python-hcl2 keeps string quotes and marks blocks; this strips both and
resolves `${local.NAME}` where the local is a plain value of the same module, so a test can
compare `deregistration_delay` with 30 rather than with an expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

_LOCAL = re.compile(r"^\$\{local\.(\w+)\}$")


def _unquote(value: Any) -> Any:
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {
            _unquote(k): _unquote(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    return value


def _resolve(value: Any, scalars: dict[str, Any]) -> Any:
    if isinstance(value, str):
        match = _LOCAL.match(value)
        return scalars.get(match[1], value) if match else value
    if isinstance(value, list):
        return [_resolve(v, scalars) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, scalars) for k, v in value.items()}
    return value


@dataclass
class Module:
    path: Path
    text: str = ""
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for (k, name), body in self.resources.items() if k == kind}

    def one(self, kind: str, name: str = "this") -> dict[str, Any]:
        return self.resources[(kind, name)]


def load(folder: Path) -> Module:
    module = Module(folder)
    raw_resources: list[dict[str, Any]] = []
    raw_modules: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.tf")):
        module.text += path.read_text()
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("locals", []):
            module.locals.update(_unquote(block))
        raw_resources += parsed.get("resource", [])
        raw_modules += parsed.get("module", [])
    scalars = {k: v for k, v in module.locals.items() if isinstance(v, int | bool | str)}
    for block in raw_resources:
        for kind, named in _unquote(block).items():
            for name, body in named.items():
                module.resources[(kind, name)] = _resolve(body, scalars)
    for block in raw_modules:
        module.modules.update(_resolve(_unquote(block), scalars))
    module.comments = re.findall(r"#checkov:skip=([^\n]*)", module.text)
    return module


def block(body: dict[str, Any], *path: str) -> dict[str, Any]:
    """The single nested block at `path` (blocks parse as one-element lists)."""
    current: Any = body
    for name in path:
        current = current[name]
        if isinstance(current, list):
            assert len(current) == 1, f"{name}: {len(current)} blocks"
            current = current[0]
    assert isinstance(current, dict)
    return current
