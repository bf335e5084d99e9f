"""`hot`: one auction, many bidders, some watchers; `spread`: the same over many auctions.

Open loop at `--rate` (bid → ack latency), or `--mode closed`: every bidder connection
sends its next bid as soon as the previous one is answered (`--inflight` at a time), which
measures the maximum throughput rather than latency at a given load.
"""

from __future__ import annotations

import sys

from bench.deploy import Needs, Target, deployment
from bench.options import Options
from bench.report import Series
from bench.scenarios.common import BidLoad, measure_bids
from bench.system import CorePlan


def needs(opts: Options, auctions: int) -> Needs:
    return Needs(users=opts.connections, auctions=auctions, ack_mode=opts.ack_mode)


def hot_load(opts: Options, target: Target, *, closed: bool, label: str = "") -> BidLoad:
    return BidLoad(
        scenario="hot",
        auction_ids=tuple(target.auction_ids[:1]),
        rate=opts.rate,
        connections=opts.connections,
        watchers=opts.watchers,
        closed=closed,
        label=label or ("hot-closed" if closed else ""),
    )


async def run_hot(opts: Options, plan: CorePlan) -> list[Series]:
    async with deployment(opts, opts.engine, needs(opts, 1), plan) as target:
        series, _, _ = await measure_bids(
            opts, plan, target, hot_load(opts, target, closed=opts.mode == "closed")
        )
    return [series]


async def run_spread(opts: Options, plan: CorePlan) -> list[Series]:
    async with deployment(opts, opts.engine, needs(opts, opts.auctions), plan) as target:
        auction_ids = tuple(target.auction_ids[: opts.auctions])
        if len(auction_ids) < opts.auctions:
            print(f"note: only {len(auction_ids)} auctions available", file=sys.stderr)
        load = BidLoad(
            scenario="spread",
            auction_ids=auction_ids,
            rate=opts.rate,
            connections=opts.connections,
            watchers=opts.watchers,
            closed=opts.mode == "closed",
        )
        series, _, _ = await measure_bids(opts, plan, target, load)
    return [series]
