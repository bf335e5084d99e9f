"""`compare`: `hot` against each engine in one run, on this machine, side by side.

For each of `--engines` (default actor, rowlock, echo) the harness starts that server on a
fresh database, measures its closed-loop maximum (skip with `--no-closed`) and then the
open-loop latency at `--rate`, and stops it. An engine whose server does not start (e.g.
`--engine rowlock` before it exists) is reported as unavailable. The ratios actor/rowlock
and actor/echo compare throughput (closed-loop maximum) and p99 (at `--rate`).
"""

from __future__ import annotations

import sys

from bench.deploy import deployment
from bench.options import Options
from bench.report import Series
from bench.scenarios.common import measure_bids
from bench.scenarios.hot import hot_load, needs
from bench.server import ServerUnavailable
from bench.system import CorePlan


async def _engine(opts: Options, plan: CorePlan, engine: str) -> list[Series]:
    out = []
    async with deployment(opts, engine, needs(opts, 1), plan) as target:
        if opts.closed_max:
            closed, _, _ = await measure_bids(
                opts, plan, target, hot_load(opts, target, closed=True)
            )
            out.append(closed)
        series, _, _ = await measure_bids(opts, plan, target, hot_load(opts, target, closed=False))
        out.append(series)
    for s in out:
        s.label = f"{s.label or s.scenario}/{engine}"
    return out


def _unavailable(opts: Options, engine: str, reason: str) -> Series:
    series = Series(
        scenario="hot",
        engine=engine,
        target_rate=opts.rate,
        achieved_rate=None,
        duration_s=0.0,
        errors=0,
        label=f"hot/{engine} (unavailable)",
    )
    series.extra.update(available=False, reason=reason)
    return series


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.3g}" if a and b else "n/a"


def _summary(results: dict[str, list[Series]]) -> str:
    def pick(engine: str, closed: bool) -> Series | None:
        for s in results.get(engine, []):
            if s.extra.get("available", True) and (s.extra.get("mode") == "closed") == closed:
                return s
        return None

    lines = ["compare (hot): engine  max/s (closed loop)  p50 / p99 ms at the target rate"]
    for engine, series in results.items():
        closed, open_ = pick(engine, True), pick(engine, False)
        if closed is None and open_ is None:
            lines.append(f"  {engine:8} unavailable: {series[0].extra.get('reason', '?')}")
            continue
        lat = open_.latency.summary_ms() if open_ else {}
        top = closed.achieved_rate if closed else None
        lines.append(
            f"  {engine:8} {top if top is not None else '-':>10}  "
            f"{lat.get('p50')} / {lat.get('p99')}"
        )
    for other in ("rowlock", "echo"):
        a_closed, b_closed = pick("actor", True), pick(other, True)
        a_open, b_open = pick("actor", False), pick(other, False)
        throughput = _ratio(
            a_closed.achieved_rate if a_closed else None,
            b_closed.achieved_rate if b_closed else None,
        )
        p99 = _ratio(
            a_open.latency.summary_ms()["p99"] if a_open else None,
            b_open.latency.summary_ms()["p99"] if b_open else None,
        )
        lines.append(f"  actor/{other}: throughput x{throughput}, p99 x{p99}")
    return "\n".join(lines)


async def run(opts: Options, plan: CorePlan) -> list[Series]:
    results: dict[str, list[Series]] = {}
    for engine in opts.engines:
        try:
            results[engine] = await _engine(opts, plan, engine)
        except ServerUnavailable as exc:
            print(f"compare: {engine} unavailable: {exc}", file=sys.stderr)
            results[engine] = [_unavailable(opts, engine, str(exc))]
    summary = _summary(results)
    out = [s for series in results.values() for s in series]
    for s in out:
        s.extra["summary"] = summary
    return out
