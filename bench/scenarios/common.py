"""The bid measurement every scenario builds on: split the roles over the workers, run."""

from __future__ import annotations

from dataclasses import dataclass

from bench.deploy import Target
from bench.loadgen import Hook, RunOutcome, run_workers
from bench.options import Options
from bench.plans import BidPlan, Timing, WatchPlan, WorkerSpec
from bench.report import Series, TallySum, bid_series, sum_tallies
from bench.system import CorePlan


@dataclass(frozen=True, slots=True)
class BidLoad:
    """One bid run: which auctions, how fast, how many bidders and watchers."""

    scenario: str
    auction_ids: tuple[int, ...]
    rate: float
    connections: int
    watchers: int = 0
    closed: bool = False
    timed_watchers: bool = False
    stalled: int = 0
    record_acks: bool = False
    label: str = ""


def timing(opts: Options) -> Timing:
    return Timing(opts.duration, opts.warmup_s, opts.grace, opts.send)


def split(count: int, parts: int) -> list[int]:
    """`count` as evenly as possible over `parts`."""
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


def worker_count(plan: CorePlan, bidders: int, single_user: bool) -> int:
    """Two bidder users per worker at least: a bidder never follows itself on an auction."""
    if single_user or bidders <= 0:
        return plan.workers
    return max(1, min(plan.workers, bidders // 2))


def bid_message(opts: Options, target: Target) -> tuple[str, int]:
    """The message and amount step. `max_bid` (default) with steps of 2000, twice the largest
    increment: the price trails the leader's max by one increment, so a bid that the server
    reads one place out of order still clears the minimum (and is recorded as outbid), and a
    leader bidding again merely raises its max. `--bid plain`: `bid`, steps of 1000, no
    tolerance for reordering. One user (`--token`): only `max_bid` makes sense."""
    if target.single_user or opts.bid == "max":
        return "max_bid", 2000
    return "bid", 1000


async def specs_for(
    opts: Options, plan: CorePlan, target: Target, load: BidLoad
) -> tuple[list[WorkerSpec], tuple[int, ...]]:
    bases = await target.bases(load.auction_ids)
    single = target.single_user
    tokens = target.tokens if single else target.tokens[: load.connections]
    bidders = load.connections if single else len(tokens)
    workers = worker_count(plan, bidders, single)
    message, step = bid_message(opts, target)
    prefix = target.bid_id_prefix()
    specs = []
    watcher_counts = split(load.watchers, workers)
    bidder_counts = split(bidders, workers)
    for w in range(workers):
        mine = (tokens[0],) * bidder_counts[w] if single else tuple(tokens[w::workers])
        bids = (
            BidPlan(
                ws_url=target.ws_url,
                tokens=mine,
                auction_ids=load.auction_ids,
                bases=bases,
                rate=load.rate,
                bid_id_prefix=prefix,
                message=message,
                step=step,
                closed=load.closed,
                inflight=opts.inflight,
                record_acks=load.record_acks,
            )
            if mine
            else None
        )
        watch = (
            WatchPlan(
                ws_url=target.ws_url,
                count=watcher_counts[w],
                auction_ids=load.auction_ids,
                timed=load.timed_watchers,
                stalled=load.stalled if w == 0 else 0,
            )
            if watcher_counts[w] or (load.stalled and w == 0)
            else None
        )
        cores = plan.generator
        probe = target.ws_url if w == 0 else None
        specs.append(
            WorkerSpec(w, workers, cores, timing(opts), bids=bids, watch=watch, probe_url=probe)
        )
    return specs, bases


async def measure_bids(
    opts: Options, plan: CorePlan, target: Target, load: BidLoad, hook: Hook | None = None
) -> tuple[Series, RunOutcome, TallySum]:
    specs, bases = await specs_for(opts, plan, target, load)
    label = load.label or load.scenario
    run = await run_workers(specs, label=label, sampler=target.sampler, quiet=opts.quiet, hook=hook)
    target.sent(load.auction_ids, bases, bid_message(opts, target)[1], run.bids_numbered)
    tally = sum_tallies([r.bids for r in run.results if r.bids is not None])
    frames = sum(r.watch.frames for r in run.results if r.watch is not None)
    series = bid_series(
        load.scenario,
        target.engine,
        None if load.closed else load.rate,
        opts.measured_s,
        run,
        tally,
        mode="closed" if load.closed else "open",
        connections=load.connections,
        watchers=load.watchers,
        auctions=len(load.auction_ids),
        bid=bid_message(opts, target)[0],
        watcherFrames=frames,
        ackMode=opts.ack_mode,
    )
    series.label = load.label
    return series, run, tally
