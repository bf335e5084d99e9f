"""The simulator's in-memory store answers as PostgreSQL does (so the model cannot drift).

One scenario of appends, run against the real adapter (`PgAuctionStore` on this run's
database) and against the simulator's `FaultyStore` with no faults: a first bid, the same
batch again (its first answer was lost: already stored), a stale writer (fenced), two chained
units in one batch, two units that do not chain (refused whole), a unit for a row another
transaction holds locked (`RowsBusy`, the rest of the batch committed). After each step both
must give the same answer and hold the same log, the same public payloads and due list.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Sequence

import asyncpg

from bidserver.auction import AuctionConfig, Command, Event, PlaceBid, PlaceMaxBid, decide, replay
from bidserver.engine.recording import projection, record_events
from bidserver.errors import BidserverError
from bidserver.ports import AppendItem, LoadedAuction, RowsBusy
from bidserver.timefmt import now_ms
from storage.auctions import PgAuctionStore
from tests.sim.faults import FaultConfig, FaultyStore
from tests.sim.memstore import MemoryStore
from tests.support import make_auction, make_user

Outcome = tuple[str, object]


def _unit(config: AuctionConfig, before: Sequence[Event], *commands: Command) -> AppendItem:
    """The unit an actor would hand over for these commands on top of the log `before`."""
    state = replay(config, list(before))
    start, now = state.version, now_ms()
    events: list[Event] = []
    payloads: list[bytes | None] = []
    for command in commands:
        decided = decide(state, command, now).events
        payloads.extend(record_events(state, decided)[1])
        events.extend(decided)
    return AppendItem(config.auction_id, 0, start, events, payloads, projection(state, now))


async def _outcome(store: PgAuctionStore | FaultyStore, items: Sequence[AppendItem]) -> Outcome:
    try:
        return ("ok", sorted(await store.append(items)))
    except RowsBusy as busy:
        return ("busy", (sorted(busy.busy), sorted(busy.refused)))
    except BidserverError as err:
        return ("error", err.code)


class _Both:
    def __init__(self, pg: PgAuctionStore, sim: FaultyStore, auctions: list[int]) -> None:
        self.pg, self.sim, self.auctions = pg, sim, auctions

    async def append(self, items: Sequence[AppendItem]) -> Outcome:
        """Both stores' answers to one append, which must agree; then their whole state."""
        answer = await _outcome(self.pg, items)
        assert await _outcome(self.sim, items) == answer
        for auction_id in self.auctions:
            pg, sim = await self.pg.load(auction_id), await self.sim.load(auction_id)
            assert pg is not None
            assert sim is not None
            assert (pg.owner_epoch, pg.events) == (sim.owner_epoch, sim.events)
            assert await self.pg.public_events(auction_id, 0, 100) == (
                await self.sim.public_events(auction_id, 0, 100)
            )
        far = now_ms() + 10 * 3600_000
        assert await self.pg.due(far) == await self.sim.due(far)
        return answer

    async def log(self, auction_id: int) -> LoadedAuction:
        loaded = await self.sim.load(auction_id)
        assert loaded is not None
        return loaded


async def test_the_model_answers_as_postgresql(clean_db: asyncpg.Pool) -> None:
    a, seller = await make_auction(clean_db)
    b, _ = await make_auction(clean_db, seller_id=seller)
    x, y = await make_user(clean_db), await make_user(clean_db)
    pg = PgAuctionStore(clean_db)
    sim = FaultyStore(MemoryStore(), FaultConfig.none(), random.Random(0), deque())
    configs = {}
    for auction_id in (a, b):
        loaded = await pg.load(auction_id)
        assert loaded is not None
        sim.memory.create(loaded.config)
        configs[auction_id] = loaded.config
    both = _Both(pg, sim, [a, b])

    first = _unit(configs[a], [], PlaceBid(x, 1000, "bid-1"))
    assert await both.append([first]) == ("ok", [])
    assert await both.append([first]) == ("ok", [])  # its answer was lost: already stored
    stale = _unit(configs[a], [], PlaceBid(y, 1500, "bid-2"))
    assert await both.append([stale]) == ("ok", [a])  # another writer's: fenced

    log = (await both.log(a)).events
    one = _unit(configs[a], log, PlaceBid(y, 1500, "bid-3"))
    two = _unit(configs[a], [*log, *one.events], PlaceMaxBid(x, 3000, "bid-4"))
    other = _unit(configs[b], [], PlaceBid(y, 1000, "bid-5"))
    assert await both.append([one, two, other]) == ("ok", [])  # chained units, two auctions

    log = (await both.log(a)).events
    fork1 = _unit(configs[a], log, PlaceBid(y, 4000, "bid-6"))
    fork2 = _unit(configs[a], log, PlaceBid(y, 5000, "bid-7"))
    assert await both.append([fork1, fork2]) == ("ok", [a])  # two writers from one version

    held = await clean_db.acquire()
    try:
        async with held.transaction():
            await held.execute("SELECT 1 FROM auctions WHERE id = $1 FOR UPDATE", b)
            assert sim.state.locks is not None
            sim.state.locks[b] = asyncio.get_running_loop().time() + 3600
            on_a = _unit(configs[a], log, PlaceBid(y, 4000, "bid-8"))
            on_b = _unit(configs[b], (await both.log(b)).events, PlaceBid(x, 2000, "bid-9"))
            answer = await _outcome(pg, [on_a, on_b])
            assert await _outcome(sim, [on_a, on_b]) == answer == ("busy", ([b], []))
        sim.state.locks.clear()
    finally:
        await clean_db.release(held)
    assert await both.append([on_b]) == ("ok", [])  # the lock gone, b's unit goes in
