"""deploy/monitoring: promtool checks and unit-tests the rules; every metric they and the
Grafana dashboard use is exported by a real node's `/metrics`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import asyncpg

from tests.cluster.nodeproc import running_node
from tests.deploy.tools import REPO, output, run, tool

MONITORING = REPO / "deploy" / "monitoring"
METRIC = re.compile(r"(?<![:\w])bidserver_[a-z_]+")
SUFFIXES = ("_bucket", "_sum", "_count")


def test_promtool_checks_the_rules() -> None:
    promtool = tool("promtool", "Debian's prometheus package (.ci/setup-prometheus)")
    done = run(promtool, "check", "rules", str(MONITORING / "rules.yml"))
    assert done.returncode == 0, output(done)


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    promtool = tool("promtool", "Debian's prometheus package (.ci/setup-prometheus)")
    done = run(promtool, "test", "rules", "tests.yml", cwd=MONITORING)
    assert done.returncode == 0, output(done)
    assert "SUCCESS" in done.stdout + done.stderr


def _dashboard_metrics() -> set[str]:
    dashboard = json.loads((MONITORING / "grafana" / "bidserver.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else query)
    names = {name for expr in exprs if isinstance(expr, str) for name in METRIC.findall(expr)}
    assert len(dashboard["panels"]) >= 8
    return names


def _rule_metrics() -> set[str]:
    return set(METRIC.findall((MONITORING / "rules.yml").read_text()))


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _exported(text: str) -> set[str]:
    """Every series name on /metrics, and each histogram's family name."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names | {_family(n) for n in names}


async def test_every_metric_the_dashboard_and_rules_use_is_exported(
    db: asyncpg.Pool, pg_dsn: str, tmp_path: Path
) -> None:
    used = _dashboard_metrics() | _rule_metrics()
    assert "bidserver_persist_fenced_total" in used
    async with (
        running_node(pg_dsn, tmp_path) as node,
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{node.ws_port}/metrics") as resp,
    ):
        assert resp.status == 200
        exported = _exported(await resp.text())
    missing = {n for n in used if n not in exported and _family(n) not in exported}
    assert not missing, f"not on /metrics: {sorted(missing)}"


def test_the_metric_check_catches_a_misspelt_metric() -> None:
    exported = _exported("# TYPE bidserver_bids_total counter\nbidserver_bids_total 3\n")
    assert "bidserver_bids_total" in exported
    assert "bidserver_bid_total" not in exported
    histogram = _exported("# TYPE bidserver_x_seconds histogram\n")
    assert _family("bidserver_x_seconds_bucket") in histogram
    assert _family("bidserver_y_seconds_bucket") not in histogram
