"""`python -m bench.pricing evaluate`: the held-out table, overall and by price band."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from bidserver import demo_history
from bidserver.pricing import Sale
from bidserver.pricing.evaluation import Prediction, Row, predict, summarise

# The history is made up relative to a moment; a fixed one makes the table reproducible
# (and the same as tests/unit/test_pricing_evaluation.py's for the same seed).
ANCHOR = datetime(2026, 12, 3, 12, tzinfo=UTC)
BANDS = ((0, 10_000, "under $10,000"), (10_000, 30_000, "$10,000-30,000"),
         (30_000, 10**13, "$30,000 and over"))  # fmt: skip


def generated(seed: int, size: int) -> list[Sale]:
    return [
        Sale(s.make, s.model, s.year, s.mileage, s.price, int(s.sold_at.timestamp() * 1000))
        for s in demo_history.history(ANCHOR, size=size, seed=seed)
    ]


async def stored(dsn: str) -> list[Sale]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT make, model, year, mileage, price,"
            " (extract(epoch FROM sold_at) * 1000)::bigint AS sold_ms FROM sales"
        )
    finally:
        await conn.close()
    return [Sale(r["make"], r["model"], r["year"], r["mileage"], r["price"], r["sold_ms"])
            for r in rows]  # fmt: skip


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| predicted | held out | valued | inside the 80 % range | median abs. error |"
        " median range width |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.held_out:,} | {r.valued:,} | {r.coverage:.1%} |"
            f" {r.median_error:.1%} | {r.median_width:.1%} |"
        )
    return "\n".join(lines)


def by_band(served: Sequence[Prediction]) -> list[Row]:
    return [
        summarise(f"as served, sold {label}", [p for p in served if low <= p[0].price < high])
        for low, high, label in BANDS
    ]


async def run_evaluate(args: argparse.Namespace) -> int:
    if args.database_url:
        sales = await stored(args.database_url)
        source = f"the sales record of {args.database_url.rsplit('@', 1)[-1]}"
    else:
        sales = generated(args.seed, args.size)
        source = f"the demo's generated history (seed {args.seed}, {args.size:,} sales)"
    if len(sales) < 20:
        print(f"only {len(sales)} sales in {source}: nothing to hold out")
        return 1
    started = time.perf_counter()
    served, make_only = predict(sales, args.holdout)
    took = time.perf_counter() - started
    print(f"{len(sales):,} sales from {source}; the latest {args.holdout:.0%} held out and")
    print(f"predicted from the earlier ones ({took:.2f} s):\n")
    rows = [
        summarise("as served (model, else make)", served),
        summarise("make only (model's own sales withheld)", make_only),
        *by_band(served),
    ]
    print(table(rows))
    return 0
