"""`python -m bench SCENARIO [options]`: argument parsing and the run around a scenario."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

import uvloop

from bench.options import (
    ENGINES,
    LOCAL_DSN,
    Options,
    engine_list,
    from_namespace,
    id_list,
    percent_list,
)
from bench.report import Series, plot_unavailable, table, write_json, write_plot
from bench.server import ServerUnavailable
from bench.system import CorePlan, pin_self, plan_cores, raise_fd_limit

Scenario = Callable[[Options, CorePlan], Awaitable[list[Series]]]

SCENARIOS: dict[str, str] = {
    "hot": "one auction, many bidders and some watchers: bid → ack latency at --rate",
    "spread": "the same load spread over --auctions auctions",
    "fanout": "--watchers watchers of one auction: bid acceptance → last watcher latency",
    "connections": "--n idle sessions: server RSS per connection, handshakes per second",
    "sweep": "open-loop rates at --steps percent of the closed-loop maximum; best under --p99-ms",
    "persist": "write-behind lag, acknowledgement → commit, and rows/s (--pause-db N)",
    "rest": "GET /vehicles with filters and POST /auctions/{id}/bid at fixed rates",
    "compare": "hot against the actor, rowlock and echo engines, side by side with ratios",
}

# Per-scenario defaults that differ from Options'.
DEFAULTS: dict[str, dict[str, object]] = {
    "fanout": {"rate": 50.0, "watchers": 1000, "connections": 10},
    "spread": {"auctions": 1000},
    "connections": {"watchers": 0},
    "persist": {"ack_mode": "memory", "watchers": 0},
    "rest": {"rate": 100.0, "auctions": 100, "connections": 100},
}


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("load")
    g.add_argument("--duration", type=float, help="seconds of load per series (default 10)")
    g.add_argument("--warmup", type=float, help="seconds discarded first (default 20%%, ≤ 2)")
    g.add_argument("--rate", type=float, help="target bids per second (open loop)")
    g.add_argument("--connections", type=int, help="bidder connections (distinct users)")
    g.add_argument("--watchers", type=int, help="subscribed watcher connections")
    g.add_argument("--auctions", type=int, help="auctions (spread, rest)")
    g.add_argument("--inflight", type=int, help="closed loop: bids in flight per connection")
    g.add_argument(
        "--bid",
        choices=("max", "plain"),
        help="bid messages: max_bid (default, tolerates reordering) or plain bid",
    )
    g.add_argument("--grace", type=float, help="seconds to wait for late replies (default 5)")
    g.add_argument(
        "--send",
        choices=("timer", "spin"),
        help="schedule by uvloop timers (≈1 ms) or by busy-polling (default timer)",
    )
    s = p.add_argument_group("server")
    s.add_argument("--engine", choices=ENGINES, help="what to measure (default actor)")
    s.add_argument("--ack-mode", choices=("durable", "memory"), help="BIDSERVER_ACK_MODE")
    s.add_argument("--server-log-level", choices=("debug", "info", "warning", "error"))
    s.add_argument("--dsn", help=f"PostgreSQL for a throwaway database (default {LOCAL_DSN})")
    s.add_argument("--embedded", action="store_true", help="use an embedded PostgreSQL")
    s.add_argument("--target", help="measure a running server at ws://HOST:PORT/ws instead")
    s.add_argument("--http-target", help="with --target: its REST base URL (rest)")
    s.add_argument("--auction-id", dest="auction_ids", type=id_list, help="with --target")
    s.add_argument("--secret", help="with --target: JWT secret to mint tokens for --users")
    s.add_argument("--users", type=id_list, help="with --secret: bidder user ids, e.g. 2-51")
    s.add_argument("--token", help="with --target: one bidder's token (bids become max_bid)")
    s.add_argument("--server-pid", type=int, help="with --target: pid for CPU and RSS")
    o = p.add_argument_group("generator and output")
    o.add_argument("--workers", type=int, help="generator processes (default: one per core)")
    o.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        default=None,
        help="do not pin server and generator to separate cores",
    )
    o.add_argument("--json", help="write the series as JSON to this file")
    o.add_argument("--plot", help="write latency percentile curves to this PNG")
    o.add_argument("--quiet", action="store_true", default=None, help="no progress lines")
    o.add_argument(
        "--keep-logs", action="store_true", default=None, help="keep each server's log file"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the bidserver (CONTRACT §6). Scenarios:\n"
        + "\n".join(f"  {name:12} {text}" for name, text in SCENARIOS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for name, text in SCENARIOS.items():
        p = sub.add_parser(name, help=text, description=text)
        _common(p)
        p.set_defaults(**DEFAULTS.get(name, {}))
        if name in ("hot", "spread"):
            p.add_argument("--mode", choices=("open", "closed"), help="closed: the maximum")
        if name == "fanout":
            p.add_argument("--stalled", type=int, help="watchers that stop reading (default 0)")
        if name == "connections":
            p.add_argument("--n", type=int, help="idle sessions (default 2000)")
            p.add_argument("--concurrency", type=int, help="handshakes in flight (default 200)")
        if name == "sweep":
            p.add_argument("--steps", type=percent_list, help="percent of max (10,20,…,90)")
            p.add_argument("--p99-ms", type=float, help="latency objective (default 10)")
        if name == "persist":
            p.add_argument("--pause-db", type=float, help="cut the database for N seconds")
        if name == "rest":
            p.add_argument("--get-rate", type=float, help="GET /vehicles per second (200)")
            p.add_argument("--vehicles", type=int, help="vehicles to seed (default 1000)")
        if name == "compare":
            p.add_argument("--engines", type=engine_list, help="default actor,rowlock,echo")
            p.add_argument(
                "--no-closed",
                dest="closed_max",
                action="store_false",
                default=None,
                help="skip each engine's closed-loop maximum",
            )
    return parser


def _scenario(name: str) -> Scenario:
    from bench.scenarios import compare, connections, fanout, hot, persist, rest, sweep

    table_: dict[str, Scenario] = {
        "hot": hot.run_hot,
        "spread": hot.run_spread,
        "fanout": fanout.run,
        "connections": connections.run,
        "sweep": sweep.run,
        "persist": persist.run,
        "rest": rest.run,
        "compare": compare.run,
    }
    return table_[name]


async def _cancel_on_sigterm(run: Awaitable[list[Series]]) -> list[Series]:
    """SIGTERM cancels the run, so servers are stopped and databases dropped on the way out."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run


def main(argv: Sequence[str] | None = None) -> int:
    opts = from_namespace(build_parser().parse_args(argv))
    no_plot = plot_unavailable() if opts.plot else None
    if no_plot:
        print(f"bench: {no_plot}", file=sys.stderr)
        return 2
    plan = plan_cores(pin=opts.pin, workers=opts.workers, local_server=not opts.external)
    pin_self(plan.generator)  # the parent runs the DB poller and proxy: keep it off the server
    limit = raise_fd_limit()
    if not opts.quiet:
        print(f"{plan.describe()}; open files limit {limit}", file=sys.stderr)
    try:
        series = uvloop.run(_cancel_on_sigterm(_scenario(opts.scenario)(opts, plan)))
    except ServerUnavailable as exc:
        print(f"bench: server unavailable: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; servers stopped and databases dropped", file=sys.stderr)
        return 130
    if opts.json:
        write_json(opts.json, series)
    if opts.plot:
        write_plot(opts.plot, series)
    print(table(series))
    for summary in dict.fromkeys(str(s.extra["summary"]) for s in series if "summary" in s.extra):
        print(summary)
    return 0
