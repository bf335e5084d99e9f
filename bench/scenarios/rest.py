"""`rest`: the REST sidecar under fixed request rates (open loop, aiohttp).

`GET /vehicles` with a rotation of filters (make, model, year range, text, paging) at
`--get-rate`, and `POST /auctions/{id}/max-bid` (`--bid plain`: `…/bid`) at `--rate`
round-robin over `--auctions` auctions. The harness seeds `--vehicles` vehicles and turns
the REST rate limit off.
"""

from __future__ import annotations

from bench.deploy import Needs, deployment
from bench.loadgen import run_workers
from bench.options import Options
from bench.plans import RestPlan, WorkerSpec
from bench.report import Series, bid_series, sum_tallies
from bench.scenarios.common import bid_message, timing
from bench.system import CorePlan


async def run(opts: Options, plan: CorePlan) -> list[Series]:
    if opts.engine == "echo":
        raise SystemExit("rest measures the REST sidecar: use --engine actor or rowlock")
    needs = Needs(
        users=opts.connections,
        auctions=opts.auctions,
        vehicles=opts.vehicles,
        ack_mode=opts.ack_mode,
    )
    async with deployment(opts, opts.engine, needs, plan) as target:
        if target.http_url is None:
            raise SystemExit("rest needs --http-target with --target")
        auction_ids = tuple(target.auction_ids[: opts.auctions])
        bases = await target.bases(auction_ids)
        message, step = bid_message(opts, target)
        endpoint = "max-bid" if message == "max_bid" else "bid"
        rest = RestPlan(
            http_url=target.http_url,
            tokens=tuple(target.tokens),
            auction_ids=auction_ids,
            bases=bases,
            get_rate=opts.get_rate,
            bid_rate=opts.rate,
            bid_id_prefix=target.bid_id_prefix(),
            message=message,
            step=step,
        )
        specs = [
            WorkerSpec(w, plan.workers, plan.generator, timing(opts), rest=rest)
            for w in range(plan.workers)
        ]
        run_ = await run_workers(specs, label="rest", sampler=target.sampler, quiet=opts.quiet)
    out = []
    for kind, rate, label in (("get", opts.get_rate, "rest-get"), ("bid", opts.rate, "rest-bid")):
        tally = sum_tallies([r.rest[kind] for r in run_.results if r.rest is not None])
        series = bid_series(
            "rest",
            target.engine,
            rate,
            opts.measured_s,
            run_,
            tally,
            request="GET /vehicles" if kind == "get" else f"POST /auctions/{{id}}/{endpoint}",
            auctions=len(auction_ids),
            vehicles=opts.vehicles,
        )
        series.label = label
        out.append(series)
    return out
