"""`sweep`: measure the closed-loop maximum of `hot`, then hold open-loop rates at
`--steps` percent of it, and name the highest rate whose p99 stays under `--p99-ms`.

All steps run against one server and one auction, each with a fresh schedule and warm-up.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from bench.deploy import deployment
from bench.options import Options
from bench.report import Series
from bench.scenarios.common import measure_bids
from bench.scenarios.hot import hot_load, needs
from bench.system import CorePlan


async def run(opts: Options, plan: CorePlan) -> list[Series]:
    out: list[Series] = []
    async with deployment(opts, opts.engine, needs(opts, 1), plan) as target:
        closed, _, _ = await measure_bids(opts, plan, target, hot_load(opts, target, closed=True))
        out.append(closed)
        maximum = closed.achieved_rate or 0.0
        if maximum <= 0:
            print("sweep: the closed-loop run acknowledged nothing", file=sys.stderr)
            return out
        for pct in opts.steps:
            rate = round(maximum * pct / 100.0, 1)
            step_opts = replace(opts, rate=rate)
            load = replace(hot_load(step_opts, target, closed=False), label=f"sweep-{pct}%")
            series, _, _ = await measure_bids(step_opts, plan, target, load)
            p99 = series.latency.summary_ms()["p99"]
            series.extra.update(
                percentOfMax=pct,
                maxClosedRate=maximum,
                withinObjective=p99 is not None and p99 < opts.p99_ms and series.errors == 0,
            )
            out.append(series)
    passing = [s for s in out[1:] if s.extra.get("withinObjective")]
    best = max(passing, key=lambda s: s.target_rate or 0.0) if passing else None
    verdict = (
        f"highest rate with p99 < {opts.p99_ms:g} ms: {best.target_rate:g}/s "
        f"({best.extra['percentOfMax']}% of the closed-loop maximum {maximum:g}/s)"
        if best and best.target_rate
        else f"no step kept p99 under {opts.p99_ms:g} ms (maximum {maximum:g}/s)"
    )
    for s in out:
        s.extra["summary"] = f"sweep: {verdict}"
    return out
