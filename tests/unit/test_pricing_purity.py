"""The pricing model's purity: no I/O, no clock, no randomness, nothing of the project outside it.

The same two checks as the rules core's (`test_purity.py`, whose helpers this reuses): every
import of `bidserver/pricing/` is on an allow-list of pure standard-library modules, and
importing the package in a fresh interpreter loads nothing forbidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from tests.unit.test_purity import FORBIDDEN, REPO, dynamic_imports, imports_of, loaded_modules

PRICING: Final = REPO / "bidserver" / "pricing"
ALLOWED: Final = frozenset(
    {
        "__future__",
        "bisect",
        "collections",
        "collections.abc",
        "dataclasses",
        "enum",
        "itertools",
        "math",
        "operator",
        "typing",
    }
)


def _allowed(name: str) -> bool:
    if name in ALLOWED or name == "bidserver.pricing" or name.startswith("bidserver.pricing."):
        return True
    # `from collections import defaultdict` is reported as collections.defaultdict
    return name.rpartition(".")[0] in ALLOWED


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def problems(source: str, module: str, is_package: bool, label: str) -> list[str]:
    found = [
        f"{label}:{line} imports {name!r}, outside the pricing model's allow-list"
        for line, name in imports_of(source, module, is_package)
        if not _allowed(name)
    ]
    return found + dynamic_imports(source, label)


def pricing_files() -> list[Path]:
    return sorted(PRICING.rglob("*.py"))


def test_the_pricing_files_are_found() -> None:
    assert {"fit.py", "book.py", "value.py", "breaker.py"} <= {p.name for p in pricing_files()}


@pytest.mark.parametrize("path", pricing_files(), ids=lambda p: p.name)
def test_pricing_imports_stay_inside_the_allow_list(path: Path) -> None:
    label = str(path.relative_to(REPO))
    source = path.read_text(encoding="utf-8")
    found = problems(source, _module(path), path.name == "__init__.py", label)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source",
    ["import time", "from datetime import datetime", "import random", "import json",
     "from bidserver import timefmt", "import asyncio", "from storage.sales import PgSales"],
)  # fmt: skip
def test_the_checker_catches_an_impure_import(source: str) -> None:
    assert problems(source, "bidserver.pricing.fit", False, "x.py")


def test_importing_pricing_loads_no_io_clock_or_random_module() -> None:
    baseline = loaded_modules("")
    added = loaded_modules("import bidserver.pricing") - baseline
    assert "bidserver.pricing.fit" in added, "the probe did not import the model"
    leaked = sorted(name for name in added if name.split(".")[0] in FORBIDDEN)
    assert not leaked, f"importing bidserver.pricing loads {leaked}"
    ours = {n for n in added if n.split(".")[0] == "bidserver"}
    assert ours <= {"bidserver"} | {n for n in ours if n.startswith("bidserver.pricing")}
