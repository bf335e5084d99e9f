"""Smoke test of the benchmark harness: every scenario, ~1 s, tiny scale, as a subprocess.

`python -m bench SCENARIO … --json out.json` runs against the actor engine (and the echo
server, and for `compare` the row-lock engine too) on a throwaway database of the test
PostgreSQL. The runs go four at a time; each test then checks one run's JSON: the shape of
CONTRACT §6, that bids were acknowledged, and that nothing failed. Figures are not checked:
the point is that the harness works end to end, not how fast this machine is.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--duration", "1", "--warmup", "0.2", "--grace", "3", "--quiet", "--connections", "20"]
RUNS: dict[str, list[str]] = {
    "hot-actor": ["hot", "--rate", "50", "--watchers", "2"],
    "hot-echo": ["hot", "--engine", "echo", "--rate", "50", "--watchers", "2"],
    "plot": ["hot", "--engine", "echo", "--rate", "50", "--watchers", "0"],
    "spread": ["spread", "--rate", "50", "--auctions", "20", "--watchers", "2", "--workers", "2"],
    "fanout": ["fanout", "--rate", "20", "--watchers", "20", "--stalled", "1"],
    "connections": ["connections", "--n", "100"],
    # Closed loops keep every bidder busy: two of them, so that no third bid is ever in the
    # air for the server to read out of order when this crowded machine stalls it.
    "sweep": ["sweep", "--steps", "50", "--watchers", "0", "--connections", "2"],
    "persist": ["persist", "--rate", "50"],
    "persist-outage": ["persist", "--ack-mode", "durable", "--rate", "50", "--pause-db", "0.3"],
    "rest": ["rest", "--rate", "10", "--get-rate", "20", "--auctions", "5", "--vehicles", "50"],
    "compare": ["compare", "--rate", "50", "--watchers", "2", "--connections", "2"],
}
SHAPE = {"scenario", "engine", "targetRate", "achievedRate", "durationS", "errors", "latencyMs"}
PERCENTILES = {"p50", "p90", "p99", "p999", "max"}
# The row-lock baseline decides concurrent bids in lock order, not arrival order: some
# bids arrive below the minimum that an overtaking bid set, and are refused by the rules
# (a leader's max raise overtaken by its own higher one is `max_below_current`).
RULE_REJECTIONS = {"bid_too_low", "already_leading", "max_below_current"}


@dataclass(frozen=True)
class Run:
    command: list[str]
    returncode: int
    stderr: str
    series: list[dict[str, Any]]
    plot: bool


def _run(name: str, dsn: str, workdir: Path) -> Run:
    out = workdir / f"{name}.json"
    scenario, *args = RUNS[name]
    command = [
        sys.executable,
        "-m",
        "bench",
        scenario,
        *TINY,
        *args,
        "--dsn",
        dsn,
        "--json",
        str(out),
    ]
    if name == "plot":
        command += ["--plot", str(workdir / "plot.png")]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    series = json.loads(out.read_text()) if out.exists() else []
    plot = (workdir / f"{name}.png").exists()
    return Run(command, done.returncode, done.stderr[-3000:], series, plot)


@pytest.fixture(scope="module")
def runs(pg_server_dsn: str) -> Iterator[dict[str, Run]]:
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp, ThreadPoolExecutor(4) as pool:
        futures = {name: pool.submit(_run, name, pg_server_dsn, Path(tmp)) for name in RUNS}
        yield {name: future.result() for name, future in futures.items()}


def _series(runs: dict[str, Run], name: str) -> list[dict[str, Any]]:
    run = runs[name]
    assert run.returncode == 0, f"{' '.join(run.command)}\n{run.stderr}"
    assert run.series, run.stderr
    for series in run.series:
        assert series.keys() >= SHAPE, series
        assert set(series["latencyMs"]) == PERCENTILES
    return run.series


def _acknowledged(series: dict[str, Any]) -> None:
    """Acked, nothing missing, and no error but the rules' own refusals.

    Two bidders with bids in flight at once may be read by the server in either order, so
    an occasional `bid_too_low` is the auction rules working, not the harness failing.
    """
    assert series["accepted"] > 0, series
    codes = series.get("errorsByCode", {})
    assert set(codes) <= RULE_REJECTIONS, codes
    assert sum(codes.values()) <= series["accepted"] // 5, codes
    assert series["missing"] == 0, series
    assert series["latencyMs"]["p50"] is not None, series


def test_help_lists_every_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in ("hot", "spread", "fanout", "connections", "sweep", "persist", "rest", "compare"):
        assert name in done.stdout


@pytest.mark.parametrize("name", ["hot-actor", "hot-echo", "spread"])
def test_bids_are_acknowledged(runs: dict[str, Run], name: str) -> None:
    (series,) = _series(runs, name)
    _acknowledged(series)
    assert series["watcherFrames"] > 0
    if name == "spread":
        assert series["workers"] == 2


def test_plot_is_drawn_or_refused_up_front(runs: dict[str, Run]) -> None:
    """matplotlib is optional (the `bench` extra): without it `--plot` fails before the run."""
    run = runs["plot"]
    if importlib.util.find_spec("matplotlib") is None:
        assert run.returncode == 2
        assert "--plot needs matplotlib" in run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert run.plot


def test_fanout_reaches_every_watcher(runs: dict[str, Run]) -> None:
    baseline, stalled = _series(runs, "fanout")
    for series in (baseline, stalled):
        assert series["events"] > 0
        assert series["errors"] == 0, series
        assert series["missingDeliveries"] == 0
    assert stalled["stalled"] == 1


def test_connections_are_opened_and_held(runs: dict[str, Run]) -> None:
    (series,) = _series(runs, "connections")
    assert series["opened"] == series["aliveAtEnd"] == 100
    assert series["errors"] == 0
    assert series["rssPerConnectionKb"] is not None


def test_sweep_runs_closed_then_open(runs: dict[str, Run]) -> None:
    closed, step = _series(runs, "sweep")
    assert closed["mode"] == "closed"
    assert step["mode"] == "open"
    _acknowledged(closed)
    _acknowledged(step)
    assert step["percentOfMax"] == 50


def test_persist_commits_everything_acknowledged(runs: dict[str, Run]) -> None:
    ack, lag = _series(runs, "persist")
    _acknowledged(ack)
    assert lag["rowsCommitted"] >= ack["accepted"]
    assert lag["errors"] == 0  # nothing acknowledged stayed uncommitted


def test_persist_through_a_database_outage(runs: dict[str, Run]) -> None:
    """Durable mode, the database cut for 0.3 s through the proxy: bids in the outage may
    be refused as `unavailable`, but every acknowledged one is committed."""
    ack, lag = _series(runs, "persist-outage")
    assert ack["accepted"] > 0
    assert set(ack["errorsByCode"]) <= {"unavailable"}, ack["errorsByCode"]
    assert lag["pauseDbS"] == 0.3
    assert lag["errors"] == 0
    assert lag["rowsCommitted"] >= ack["accepted"]


def test_rest_requests_succeed(runs: dict[str, Run]) -> None:
    for series in _series(runs, "rest"):
        _acknowledged(series)


def test_compare_measures_every_engine(runs: dict[str, Run]) -> None:
    series = _series(runs, "compare")
    engines = {s["engine"] for s in series}
    assert engines == {"actor", "rowlock", "echo"}
    for s in series:
        if s["engine"] == "rowlock":
            assert s.get("available", True) is False or s["accepted"] > 0, s
            assert set(s.get("errorsByCode", {})) <= RULE_REJECTIONS, s
        else:
            _acknowledged(s)
    assert "actor/rowlock" in series[0]["summary"]
    assert "actor/echo" in series[0]["summary"]
