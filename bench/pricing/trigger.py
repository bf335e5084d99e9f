"""`python -m bench.pricing trigger`: what the sales trigger costs an ordinary row update.

On a throwaway database, 2,000 open auctions are updated 5 times over per round (10,000
row updates, as the persister's projection updates do), alternately with the trigger
`auctions_sale_on_update` enabled and disabled, so both see the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import asyncpg

from bench.db import BenchDatabase
from storage.migrate import migrate

_SETUP = (
    "INSERT INTO users (email, password_hash, display_name, role)"
    " VALUES ('s@x', 'x', 's', 'seller')",
    "INSERT INTO vehicles (seller_id, vin, make, model, year, mileage)"
    " SELECT 1, '1HGCM82633A004352', 'Honda', 'Civic', 2015, 1000 FROM generate_series(1, 2000)",
    "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at, starting_price)"
    " SELECT id, 1, 'open', now(), now() + interval '1 day', 100 FROM vehicles",
)
_UPDATE = "UPDATE auctions SET bid_count = bid_count + 1, status = 'open', updated_at = now()"


async def run_trigger(args: argparse.Namespace) -> int:
    db = await BenchDatabase.create(args.dsn, embedded=args.embedded)
    try:
        await migrate(db.dsn)
        conn = await asyncpg.connect(db.dsn)
        try:
            for sql in _SETUP:
                await conn.execute(sql)
            per_row: dict[str, list[float]] = {"enabled": [], "disabled": []}
            for n in range(args.rounds * 2):
                state = "enabled" if n % 2 == 0 else "disabled"
                action = "ENABLE" if state == "enabled" else "DISABLE"
                await conn.execute(f"ALTER TABLE auctions {action} TRIGGER auctions_sale_on_update")
                started = time.perf_counter()
                for _ in range(5):
                    await conn.execute(_UPDATE)
                per_row[state].append((time.perf_counter() - started) / 10_000 * 1e6)
        finally:
            await conn.close()
    finally:
        await db.drop()
    print("µs per row update of `auctions` (10,000 per round):")
    for state, values in per_row.items():
        print(f"  trigger {state:8}: median {statistics.median(values):.2f}, best {min(values):.2f}"
              f" ({len(values)} rounds)")  # fmt: skip
    return 0
