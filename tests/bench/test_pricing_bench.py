"""Smoke test of `python -m bench.pricing`: the evaluation table and a tiny speed run.

Figures are not checked here (the evaluation's bounds are checked in
`tests/unit/test_pricing_evaluation.py`, speed is for the benchmark to measure): the point
is that both commands run end to end and print what they promise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.pricing", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_evaluation_table_is_printed() -> None:
    done = _bench("--size", "3000")
    assert done.returncode == 0, done.stderr
    assert "| as served (model, else make) | 300 |" in done.stdout
    assert "| make only (model's own sales withheld) | 300 |" in done.stdout
    assert "inside the 80 % range" in done.stdout


def test_a_tiny_speed_run_reports_every_series(pg_server_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    done = _bench("speed", "--sales", "400", "--rounds", "3", "--cached", "10",
                  "--dsn", pg_server_dsn, "--json", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    names = [f["name"] for f in figures]
    assert any(n.startswith("computed") for n in names)
    assert any(n.startswith("cached") for n in names)
    assert any(n.startswith("loop lag while computing") for n in names)
    assert any(n.startswith("GET /health") for n in names)
    assert all(f["n"] > 0 and f["p99"] >= f["p50"] for f in figures)
