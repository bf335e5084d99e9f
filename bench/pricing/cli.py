"""Argument parsing for `python -m bench.pricing`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvloop

from bench.options import LOCAL_DSN
from bidserver import demo_history


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pricing",
        description="The valuation model's held-out evaluation (default) and its speed.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ev = sub.add_parser("evaluate", help="hold out the latest sales, predict them, report")
    _evaluate_options(ev)
    _evaluate_options(parser)
    sp = sub.add_parser("speed", help="cached and computed latency, loop lag while computing")
    sp.add_argument("--sales", type=int, default=10_000, help="sales of the measured model")
    sp.add_argument("--rounds", type=int, default=200, help="computed valuations measured")
    sp.add_argument("--cached", type=int, default=2_000, help="cached valuations measured")
    sp.add_argument("--dsn", default=LOCAL_DSN, help="PostgreSQL server for a throwaway db")
    sp.add_argument("--embedded", action="store_true", help="start an embedded PostgreSQL")
    sp.add_argument("--json", help="write the figures to this file")
    tr = sub.add_parser("trigger", help="what the sales trigger costs an ordinary row update")
    tr.add_argument("--rounds", type=int, default=6, help="rounds with, and as many without")
    tr.add_argument("--dsn", default=LOCAL_DSN, help="PostgreSQL server for a throwaway db")
    tr.add_argument("--embedded", action="store_true", help="start an embedded PostgreSQL")
    return parser


def _evaluate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=demo_history.SEED, help="the history's seed")
    p.add_argument("--size", type=int, default=demo_history.HISTORY_SIZE, help="sales made up")
    p.add_argument("--holdout", type=float, default=0.1, help="share held out (the latest)")
    p.add_argument("--database-url", help="evaluate this database's sales record instead")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "speed":
        from bench.pricing.speed import run_speed

        return uvloop.run(run_speed(args))
    if args.command == "trigger":
        from bench.pricing.trigger import run_trigger

        return uvloop.run(run_trigger(args))
    from bench.pricing.evaluate import run_evaluate

    return uvloop.run(run_evaluate(args))
