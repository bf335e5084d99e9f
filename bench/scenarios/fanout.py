"""`fanout`: many watchers of one auction, a slow stream of bids; how long from a bid's
acceptance by the server to the moment the *last* watcher has its event.

Per event, the latency is max over watchers of (receive time - the event's `at`); all
watchers live in the generator processes on this machine, so one clock serves. `at` has
millisecond precision (truncated), so figures are up to 1 ms high. With `--stalled N`, N
more watchers subscribe and then stop reading; the scenario first measures a baseline
without them, so the table shows whether they moved the others' p99.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from bench.deploy import Needs, Target, deployment
from bench.hist import Histogram, merged
from bench.loadgen import RunOutcome
from bench.options import Options
from bench.report import Series, generator_health, server_health
from bench.scenarios.common import BidLoad, measure_bids
from bench.system import CorePlan


def last_watcher(opts: Options, run: RunOutcome, watchers: int) -> tuple[Histogram, int, int]:
    """(acceptance → last watcher per event, events in the window, deliveries missing)."""
    per_seq: dict[int, tuple[int, float, int]] = {}
    for result in run.results:
        if result.watch is None:
            continue
        for seq, (at_ms, last, count) in result.watch.per_seq.items():
            seen = per_seq.get(seq)
            per_seq[seq] = (
                (at_ms, max(last, seen[1]), count + seen[2]) if seen else (at_ms, last, count)
            )
    window = (run.start_wall + opts.warmup_s, run.start_wall + opts.duration)
    hist, events, missing = Histogram(), 0, 0
    for at_ms, last, count in per_seq.values():
        at = at_ms / 1000.0
        if window[0] <= at < window[1]:
            events += 1
            missing += max(0, watchers - count)
            hist.record(last - at)
    return hist, events, missing


async def _measure(opts: Options, plan: CorePlan, target: Target, stalled: int) -> Series:
    load = BidLoad(
        scenario="fanout",
        auction_ids=tuple(target.auction_ids[:1]),
        rate=opts.rate,
        connections=opts.connections,
        watchers=opts.watchers,
        timed_watchers=True,
        stalled=stalled,
        label=f"fanout+{stalled}stalled" if stalled else "fanout",
    )
    bids, run, _ = await measure_bids(opts, plan, target, load)
    hist, events, missing = last_watcher(opts, run, opts.watchers)
    deliveries = merged([r.watch.deliveries for r in run.results if r.watch])
    stalled_ends = [e for r in run.results if r.watch for e in r.watch.stalled]
    disconnected = sum(r.watch.disconnected for r in run.results if r.watch)
    series = Series(
        scenario="fanout",
        engine=target.engine,
        target_rate=opts.rate,
        achieved_rate=round(events / opts.measured_s, 1),
        duration_s=opts.measured_s,
        errors=bids.errors + missing + disconnected,
        latency=hist,
        label=load.label,
    )
    series.extra.update(
        metric="bid acceptance (event `at`) → last watcher received",
        watchers=opts.watchers,
        events=events,
        missingDeliveries=missing,
        watchersDisconnected=disconnected,
        deliveriesMs=deliveries.summary_ms(),
        bidAckMs=bids.latency.summary_ms(),
        bidErrors=bids.errors,
        stalled=stalled,
        stalledEnded=stalled_ends,
        missing=bids.extra.get("missing"),
        **server_health(run),
        **generator_health(run),
    )
    return series


async def run(opts: Options, plan: CorePlan) -> list[Series]:
    users = Needs(users=opts.connections, auctions=1, ack_mode=opts.ack_mode)
    out: list[Series] = []
    async with deployment(opts, opts.engine, users, plan) as target:
        if opts.stalled:
            out.append(await _measure(replace(opts, stalled=0), plan, target, 0))
        out.append(await _measure(opts, plan, target, opts.stalled))
    if len(out) == 2 and not opts.quiet:
        base, with_stalled = (s.latency.summary_ms()["p99"] for s in out)
        print(
            f"fanout p99 without stalled watchers {base} ms, with {opts.stalled}: "
            f"{with_stalled} ms; stalled watchers ended: {out[1].extra['stalledEnded']}",
            file=sys.stderr,
        )
    return out
