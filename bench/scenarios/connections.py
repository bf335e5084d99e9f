"""`connections`: N idle authenticated sessions; server memory per connection, handshakes/s.

The server's VmRSS is read (from /proc) once the workers are ready and nothing is open
yet, and again a second after the last handshake; the difference over N is the cost of one
idle session (socket buffers in the kernel are not in RSS). The sessions are then held for
`--duration` seconds and counted again. Both processes need N + ~200 file descriptors:
the harness raises its soft limit to the hard limit (`ulimit -Hn`), and the server
inherits it; beyond that, raise the hard limit (`ulimit -Hn 30000` as root).
"""

from __future__ import annotations

import asyncio

from bench.deploy import Needs, deployment
from bench.hist import merged
from bench.loadgen import Controller, run_workers
from bench.options import Options
from bench.plans import IdlePlan, WorkerSpec
from bench.report import Series, generator_health
from bench.scenarios.common import split, timing
from bench.system import CorePlan, check_fd_budget

SETTLE_S = 1.0


async def run(opts: Options, plan: CorePlan) -> list[Series]:
    problem = check_fd_budget(opts.n)
    if problem:
        raise SystemExit(f"bench connections: {problem}")
    needs = Needs(users=max(1, min(opts.n, 1000)), auctions=1, ack_mode=opts.ack_mode)
    async with deployment(opts, opts.engine, needs, plan) as target:
        workers = plan.workers
        counts = split(opts.n, workers)
        per_worker = max(1, opts.concurrency // workers)
        specs = [
            WorkerSpec(
                w,
                workers,
                plan.generator,
                timing(opts),
                idle=IdlePlan(
                    target.ws_url,
                    tuple(target.tokens[w::workers] or target.tokens),
                    counts[w],
                    per_worker,
                ),
            )
            for w in range(workers)
            if counts[w]
        ]

        async def hold(ctl: Controller) -> None:
            opened = await ctl.wait_for("connected", len(specs))
            await asyncio.sleep(SETTLE_S)  # let the server finish its per-connection set-up
            ctl.notes["rss_after"] = ctl.sampler.rss_bytes() if ctl.sampler else None
            ctl.notes["seconds"] = max(o["seconds"] for o in opened)
            await asyncio.sleep(opts.duration)  # hold the sessions idle
            ctl.stop()

        run_ = await run_workers(
            specs, label="connections", sampler=target.sampler, quiet=opts.quiet, hook=hold
        )
    idle = [r.idle for r in run_.results if r.idle is not None]
    opened = sum(i.opened for i in idle)
    alive = sum(i.alive_at_end for i in idle)
    seconds = float(run_.notes.get("seconds") or 0.0)
    before, after = run_.server_rss_ready, run_.notes.get("rss_after")
    per_conn = (after - before) / opened if before and after and opened else None
    errors: dict[str, int] = {}
    for i in idle:
        for code, count in i.errors.items():
            errors[code] = errors.get(code, 0) + count
    series = Series(
        scenario="connections",
        engine=target.engine,
        target_rate=None,
        achieved_rate=round(opened / seconds, 1) if seconds else None,
        duration_s=opts.duration,
        errors=sum(errors.values()) + (opened - alive),
        latency=merged([i.handshake for i in idle]),
    )
    series.extra.update(
        metric="handshake latency; achievedRate = handshakes per second",
        connections=opts.n,
        opened=opened,
        aliveAtEnd=alive,
        errorsByCode=errors,
        handshakeSeconds=round(seconds, 3),
        serverRssBeforeMb=round(before / 2**20, 1) if before else None,
        serverRssAfterMb=round(after / 2**20, 1) if after else None,
        rssPerConnectionKb=round(per_conn / 1024, 2) if per_conn is not None else None,
        **generator_health(run_),
    )
    return [series]
