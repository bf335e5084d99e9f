"""The rules core's import boundary: pure code, no I/O, no clock, no randomness, no outer layer.

`bidserver.auction` takes `now` and ids as arguments so every rule is testable without an event
loop; that holds only while it imports nothing that could reach a socket, a clock or a random
source. Two checks: a static one (every `import` in the core's files, read with `ast`, is on
an allow-list) and a dynamic one (importing the core in a fresh interpreter loads none of the
forbidden modules beyond what a bare interpreter already holds).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parents[2]
PACKAGE: Final = REPO / "bidserver"

ALLOWED_STDLIB: Final = frozenset(
    {"__future__", "bisect", "dataclasses", "enum", "typing", "collections.abc"}
)
ALLOWED_PACKAGES: Final = ("bidserver.auction",)

# Named explicitly so a violation says why, not only "not on the list".
FORBIDDEN: Final = frozenset(
    {
        "asyncio",
        "time",
        "datetime",
        "socket",
        "random",
        "uuid",
        "secrets",
        "os",
        "threading",
        "storage",
        "httpapi",
        "asyncpg",
        "redis",
        "websockets",
        "aiohttp",
        "uvloop",
        "ssl",
        "select",
        "selectors",
        "subprocess",
        "multiprocessing",
        "concurrent",
        "logging",
        "msgpack",
        "jwt",
        "argon2",
        "prometheus_client",
    }
)


def core_files() -> list[Path]:
    """Every module of the core, plus what importing it executes: `bidserver/__init__.py`."""
    files = sorted((PACKAGE / "auction").rglob("*.py"))
    return [*files, PACKAGE / "__init__.py"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_allowed(name: str) -> bool:
    if name in ALLOWED_STDLIB:
        return True
    return any(name == p or name.startswith(p + ".") for p in ALLOWED_PACKAGES)


def forbidden_root(name: str) -> str | None:
    root = name.split(".")[0]
    if root in FORBIDDEN:
        return root
    if root == "bidserver" and name.split(".")[1:2] and name.split(".")[1] in FORBIDDEN:
        return name.split(".")[1]  # e.g. a `bidserver.storage` subpackage
    return None


def imports_of(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, fully qualified module) for every import; `from a import b` yields `a.b` when
    `a` itself is not allowed (b may be a submodule: `from bidserver.auction import errors`)."""
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                kept = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join([*kept, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if is_allowed(base):
                yield node.lineno, base
            else:
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}" if base else alias.name


def violations(source: str, module: str, is_package: bool, label: str) -> list[str]:
    found = []
    for line, name in imports_of(source, module, is_package):
        root = forbidden_root(name)
        if root is not None:
            found.append(
                f"{label}:{line} imports {name!r}: the rules core must not use {root!r} "
                "(I/O, a clock, randomness or an outer layer); take it as an argument instead"
            )
        elif not is_allowed(name):
            found.append(
                f"{label}:{line} imports {name!r}, which is outside the core's allow-list "
                f"{sorted(ALLOWED_STDLIB)} + {list(ALLOWED_PACKAGES)}"
            )
    return found


def dynamic_imports(source: str, label: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("__import__", "import_module"):
                found.append(f"{label}:{node.lineno} imports dynamically with {name}()")
    return found


def test_the_core_files_are_found() -> None:
    names = {p.name for p in core_files()}
    assert {"rules.py", "state.py", "events.py", "commands.py", "money.py"} <= names


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_core_imports_stay_inside_the_allow_list(path: Path) -> None:
    label = str(path.relative_to(REPO))
    source = path.read_text(encoding="utf-8")
    found = violations(source, module_name(path), path.name == "__init__.py", label)
    found += dynamic_imports(source, label)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import asyncio", "asyncio"),
        ("import time as t", "time"),
        ("from datetime import datetime", "datetime"),
        ("import os.path", "os"),
        ("from collections import deque", "collections.deque"),
        ("import collections", "collections"),
        ("from .. import storage", "bidserver.storage"),
        ("from ... import httpapi", "httpapi"),
        ("from bidserver import settings", "bidserver.settings"),
        ("from bidserver.errors import Unavailable", "bidserver.errors.Unavailable"),
        ("from ..errors import Unavailable", "bidserver.errors.Unavailable"),
        ("import json", "json"),
        ("def f():\n    import random", "random"),
        ("if True:\n    from uuid import uuid4", "uuid"),
    ],
)
def test_the_checker_catches_a_bad_import(source: str, bad: str) -> None:
    found = violations(source, "bidserver.auction.rules", False, "x.py")
    assert len(found) == 1
    assert repr(bad) in found[0]


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "from dataclasses import dataclass, field",
        "from enum import StrEnum",
        "from typing import Any, ClassVar",
        "from collections.abc import Iterator",
        "import collections.abc",
        "from collections import abc",
        "from bidserver.auction.money import increment",
        "from .money import increment",
        "from . import events",
        "from bidserver.auction.errors import BadRequest",
        "from .errors import BadRequest",
        "from bidserver.auction import errors",
    ],
)
def test_the_checker_allows_a_pure_import(source: str) -> None:
    assert violations(source, "bidserver.auction.rules", False, "x.py") == []


def test_the_checker_catches_a_dynamic_import() -> None:
    assert dynamic_imports("m = __import__('socket')", "x.py")
    assert dynamic_imports("import importlib\nm = importlib.import_module('socket')", "x.py")


def loaded_modules(code: str) -> set[str]:
    """sys.modules of a fresh interpreter (same executable, environment and directory)."""
    program = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(result.stdout.split())


def test_importing_the_core_loads_no_io_clock_or_random_module() -> None:
    baseline = loaded_modules("")  # what this Python preloads by itself (site, encodings, …)
    after = loaded_modules("import bidserver.auction")
    added = after - baseline
    assert "bidserver.auction.rules" in added, "the probe did not import the core"
    leaked = sorted(name for name in added if name.split(".")[0] in FORBIDDEN)
    assert not leaked, f"importing bidserver.auction loads {leaked}"
    ours = sorted(n for n in added if n.split(".")[0] == "bidserver")
    outside = [n for n in ours if n != "bidserver" and not is_allowed(n)]
    assert not outside, f"importing bidserver.auction loads other bidserver modules: {outside}"
    preloaded = sorted(FORBIDDEN & baseline)
    # Modules a bare interpreter already holds (e.g. os, time) cannot be told apart here;
    # the static test above forbids importing them.
    assert "asyncio" not in preloaded
    assert "socket" not in preloaded
