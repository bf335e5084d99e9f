"""Membership and shard leases against the real Redis, and the fence through the registry.

Placements run in this process under a key prefix of their own; their passes are driven
by calling `tick()` (no background loop), so each step is deterministic. The clock is
injected: a lease's safe end is checked without waiting for it.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bidserver.auction import PlaceBid
from bidserver.cluster.leases import LeasePlacement
from bidserver.cluster.shards import SHARDS, shard_of
from bidserver.engine.persister import Persister
from bidserver.engine.registry import DecidedElsewhere, Registry
from bidserver.errors import BidserverError
from storage.auctions import PgAuctionStore
from tests.support import make_auction, make_user

LEASE_MS = 2000
TIMEOUT_S = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Holder:
    """Records what the placement tells the engine."""

    def __init__(self) -> None:
        self.lost: set[int] = set()
        self.handed: set[int] = set()

    def lose(self, shards: set[int]) -> None:
        self.lost |= shards

    async def hand_off(self, shards: set[int]) -> None:
        self.handed |= shards

    def live_count(self) -> int:
        return 0


@pytest_asyncio.fixture
async def make_placement(
    redis_url: str, redis_prefix: str
) -> AsyncIterator[Callable[..., LeasePlacement]]:
    cluster = f"{redis_prefix}{secrets.token_hex(4)}"
    made: list[LeasePlacement] = []

    def make(node_id: str, clock: Callable[[], float] | None = None) -> LeasePlacement:
        placement = LeasePlacement(
            Redis.from_url(redis_url),
            node_id=node_id,
            cluster_name=cluster,
            address=("127.0.0.1", 9000 + len(made)),
            lease_ms=LEASE_MS,
            **({"clock": clock} if clock else {}),
        )
        made.append(placement)
        return placement

    try:
        yield make
    finally:
        for placement in made:
            await placement.close()


async def test_one_node_takes_every_shard_and_is_ready(
    make_placement: Callable[..., LeasePlacement],
) -> None:
    node = make_placement("n1")
    assert not node.joined()
    assert await node.tick()
    assert node.joined()
    assert node.held_shards() == set(range(SHARDS))
    assert node.owner_of(42) == "n1"
    assert node.decides(42)
    assert await node.wait_owner(42, 0.1) == "n1"
    nodes = await node.nodes()
    assert [(n.node_id, n.address) for n in nodes] == [("n1", "127.0.0.1:9000")]


async def test_a_joining_node_gets_its_share_by_handoff(
    make_placement: Callable[..., LeasePlacement],
) -> None:
    first, second = make_placement("n1"), make_placement("n2")
    first_holder = Holder()
    first.bind(first_holder)
    assert await first.tick()
    assert not await second.tick()  # n2 should hold shards n1 still has
    assert not second.joined()
    await first.tick()  # n1 sees n2 and hands off what n2 wins
    await asyncio.gather(*first._handoffs)
    moved = first_holder.handed
    assert 0 < len(moved) < SHARDS
    assert await second.tick()
    assert second.held_shards() == moved
    assert first.held_shards() == set(range(SHARDS)) - moved
    await first.tick()
    for auction_id in range(1, 200):
        owner = "n2" if shard_of(auction_id) in moved else "n1"
        assert first.owner_of(auction_id) == second.owner_of(auction_id) == owner
        assert first.decides(auction_id) == (owner == "n1")
        assert second.decides(auction_id) == (owner == "n2")
    assert first.address_of("n2") == ("127.0.0.1", 9001)
    assert not first_holder.lost


async def test_a_lease_stops_counting_before_it_can_expire(
    make_placement: Callable[..., LeasePlacement],
) -> None:
    clock = Clock()
    node = make_placement("n1", clock)
    holder = Holder()
    node.bind(holder)
    assert await node.tick()
    deadline = node.timing.deadline(1000.0)
    clock.now = deadline - 0.001
    assert node.decides(7)
    clock.now = deadline
    assert not node.decides(7), "past the safe end: not decided, even before the timer fires"
    assert node.owner_of(7) is None, "ours in Redis, but not surely: nobody decides it now"
    node._expire()  # what the timer does
    assert holder.lost == set(range(SHARDS))
    assert node.held_shards() == set()


async def test_a_lease_taken_by_another_is_dropped_at_once(
    make_placement: Callable[..., LeasePlacement], redis: Redis, redis_prefix: str
) -> None:
    node = make_placement("n1")
    holder = Holder()
    node.bind(holder)
    assert await node.tick()
    key = node._keys.shard_key(3)
    await redis.set(key, "intruder", px=LEASE_MS)  # as if ours had expired and been taken
    await node.tick()
    assert 3 in holder.lost
    assert not any(node.decides(a) for a in range(1, 5000) if shard_of(a) == 3)


async def test_leaving_releases_every_lease_for_the_next_node(
    make_placement: Callable[..., LeasePlacement],
) -> None:
    first, second = make_placement("n1"), make_placement("n2")
    holder = Holder()
    first.bind(holder)
    assert await first.tick()
    await first.leave()
    assert holder.handed == set(range(SHARDS))
    assert await second.tick(), "nothing left to wait for: the leases were released"
    assert second.held_shards() == set(range(SHARDS))
    assert [n.node_id for n in await second.nodes()] == ["n2"]


# --- the fence through the registry -----------------------------------------------------------


async def _bid(registry: Registry, auction_id: int, bidder: int, amount: int) -> object:
    actor = await registry.get(auction_id)
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    actor.submit_bid(PlaceBid(bidder, amount, str(uuid.uuid4())), answer.set_result)
    async with asyncio.timeout(TIMEOUT_S):
        return await answer


async def test_takeover_fences_the_old_owner(
    db: asyncpg.Pool, make_placement: Callable[..., LeasePlacement]
) -> None:
    """Two registries each believe they decide the auction (as after a pause): the one that
    activated last bumped the epoch, so the other's next write is refused and it drops."""
    auction_id, _ = await make_auction(db)
    bidder, other, third = await make_user(db), await make_user(db), await make_user(db)
    store = PgAuctionStore(db)
    old_place = make_placement("old")
    assert await old_place.tick()
    old_persister, new_persister = Persister(store), Persister(store)
    old = Registry(store, old_persister, durable=True, placement=old_place, fence=store)
    new = Registry(store, new_persister, durable=True, placement=old_place, fence=store)
    old_persister.start()
    new_persister.start()
    try:
        first = await _bid(old, auction_id, bidder, 2000)
        assert getattr(first, "amount", None) == 2000
        epoch_old = await db.fetchval("SELECT owner_epoch FROM auctions WHERE id=$1", auction_id)
        taken = await _bid(new, auction_id, other, 3000)
        assert getattr(taken, "amount", None) == 3000
        refused = await _bid(old, auction_id, third, 4000)
        assert isinstance(refused, BidserverError)
        assert refused.code == "unavailable"
        assert old.live(auction_id) is None, "dropped on its first refused batch"
        rows = await db.fetch(
            "SELECT amount, owner_epoch FROM auction_events WHERE auction_id=$1 ORDER BY version",
            auction_id,
        )
        assert [(r["amount"], r["owner_epoch"]) for r in rows] == [  # 4000 was never stored
            (2000, epoch_old),
            (3000, epoch_old + 1),
        ]
    finally:
        await old.close()
        await new.close()
        await old_persister.stop()
        await new_persister.stop()


async def test_a_registry_refuses_auctions_of_shards_it_does_not_hold(
    db: asyncpg.Pool, make_placement: Callable[..., LeasePlacement]
) -> None:
    auction_id, _ = await make_auction(db)
    store = PgAuctionStore(db)
    placement = make_placement("n1")  # never ticked: holds nothing
    registry = Registry(store, Persister(store), durable=True, placement=placement, fence=store)
    with pytest.raises(DecidedElsewhere):
        await registry.get(auction_id)
    epoch = await db.fetchval("SELECT owner_epoch FROM auctions WHERE id=$1", auction_id)
    assert epoch == 0, "no fence bump without the lease"
