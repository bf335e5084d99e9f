"""Memory per live auction actor: `python -m bench.actor_memory --n 10000`.

Activates N idle actors (config, empty log, inbox, task, close timer) in one process and
reports the traced allocation per actor. Idle actors are what thousands of live auctions
cost between bids; a busy one adds its recent-event ring (32 events) and idempotency table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc
from collections.abc import Sequence

import uvloop

from bidserver.auction import AuctionConfig
from bidserver.engine.actor import AuctionActor
from bidserver.engine.persister import Persister
from bidserver.ports import AppendItem, LoadedAuction
from bidserver.timefmt import now_ms


class _UnusedStore:
    """Idle actors never touch storage; anything else is a bug in this measurement."""

    async def load(self, auction_id: int) -> LoadedAuction | None:
        raise AssertionError("idle actors do not load")

    async def append(self, items: Sequence[AppendItem]) -> set[int]:
        raise AssertionError("idle actors do not write")

    async def public_events(
        self, auction_id: int, after_seq: int, up_to_seq: int
    ) -> list[dict[str, object]]:
        raise AssertionError("idle actors do not replay")

    async def due(self, until_ms: int) -> list[int]:
        return []


async def measure(n: int) -> float:
    store = _UnusedStore()
    persister = Persister(store)
    now = now_ms()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    actors = []
    for i in range(1, n + 1):
        config = AuctionConfig(i, 1, now - 1000, now + 3_600_000, 1000, 5000, 20000)
        actor = AuctionActor(LoadedAuction(config, 0, []), store, persister)
        actor.start()
        actors.append(actor)
    await asyncio.sleep(0)  # let every task reach its first await
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    await asyncio.gather(*(a.stop() for a in actors))
    return (after - before) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    per_actor = uvloop.run(measure(args.n))
    print(f"actors={args.n} bytes_per_idle_actor={per_actor:,.0f} ({per_actor / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
