"""System tools the deployment tests run, found on PATH or in the repository's `.tools/`.

`.ci/run` installs them (`.ci/setup-*`) and sets `BIDSERVER_TEST_REQUIRE_ALL=1`, so in CI a
missing tool fails its test; on a laptop the test is skipped with what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO / ".tools" / "bin"


def require_all() -> bool:
    return os.environ.get("BIDSERVER_TEST_REQUIRE_ALL", "") not in ("", "0")


def missing(message: str) -> None:
    """Fail in CI, skip elsewhere."""
    if require_all():
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str, install: str) -> str:
    """The path of `name`, from the venv's bin, PATH or `.tools/bin`; else fail/skip."""
    for folder in (Path(sys.executable).parent, TOOLS_BIN):
        candidate = folder / name
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    missing(f"{name} not found; install it with {install}")
    raise AssertionError("unreachable")  # pragma: no cover


def run(*command: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a checker; the result carries both streams for the assertion message."""
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
