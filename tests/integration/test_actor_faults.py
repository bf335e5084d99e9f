"""The actor's and the persister's fault paths (issue 9, defects 1, 2, 3), on PostgreSQL.

- Memory ack mode: an actor whose acked events are not yet stored is never passivated; a
  write that can never succeed fails only its own auction instead of jamming the node's
  persister; a refused write makes the actor reload (and reset its watchers) at once.
- A failed write of a close or an extension makes the actor reload and re-arm its close
  timer without waiting for a command, so watchers see the close.
- A snapshot asked of the actor (REST `GET /auctions/{id}`, `cancel`) is the state as of
  the command, never a later command's events still being written; and it is answered even
  when a write before it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

import asyncpg
import pytest

from bidserver.auction import BidPlaced, BidReply, PlaceBid, Snapshot
from bidserver.engine import registry as registry_module
from bidserver.engine.actor import AuctionActor
from bidserver.engine.mailbox import Reply, Subscription
from bidserver.engine.persister import Persister, WriteUnit
from bidserver.engine.registry import Registry
from bidserver.errors import BidserverError
from bidserver.wire.frames import Frames
from storage.auctions import PgAuctionStore
from tests.integration.test_event_store_faults import decided_item
from tests.support import make_auction, make_user

TIMEOUT_S = 10.0


class Watcher:
    """A subscriber that keeps every message it is pushed and can wait for a type."""

    user_id: int | None = None

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        self._arrived = asyncio.Event()

    def push(self, frames: Frames) -> None:
        self.messages.append(dict(frames.message))
        self._arrived.set()

    def of_type(self, kind: str) -> list[dict[str, object]]:
        return [m for m in self.messages if m.get("type") == kind]

    async def wait_for(self, kind: str) -> dict[str, object]:
        while not self.of_type(kind):
            self._arrived.clear()
            await self._arrived.wait()
        return self.of_type(kind)[0]


async def _ask_snapshot(actor: AuctionActor) -> Snapshot | BidserverError:
    answer: asyncio.Future[Snapshot | BidserverError] = asyncio.get_running_loop().create_future()
    actor.current_snapshot(answer.set_result)
    return await answer


async def _subscribe(actor: AuctionActor, watcher: Watcher) -> None:
    answer: asyncio.Future[Subscription | BidserverError] = (
        asyncio.get_running_loop().create_future()
    )

    def done(result: Subscription | BidserverError) -> bool:
        answer.set_result(result)
        return True

    actor.subscribe(watcher, None, done)
    assert isinstance(await answer, Subscription)


def _bid(actor: AuctionActor, bidder: int, amount: int) -> asyncio.Future[Reply]:
    reply: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
    actor.submit_bid(PlaceBid(bidder, amount, str(uuid.uuid4())), reply.set_result)
    return reply


@asynccontextmanager
async def live_actor(
    db: asyncpg.Pool, auction_id: int, *, durable: bool, start_persister: bool = True
) -> AsyncIterator[tuple[AuctionActor, Persister]]:
    store = PgAuctionStore(db)
    persister = Persister(store, retry_failures=not durable)
    loaded = await store.load(auction_id)
    assert loaded is not None
    actor = AuctionActor(loaded, store, persister, durable=durable)
    if start_persister:
        persister.start()
    actor.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            yield actor, persister
    finally:
        await actor.stop()
        await stop_hard(persister)


async def stop_hard(persister: Persister) -> None:
    """Stop after flushing; if a (failing) test left it stuck, end its task all the same."""
    if persister._task is None:
        persister.start()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2.0):
            await persister.stop()
    if persister._task is not None:
        persister._task.cancel()
        await asyncio.gather(persister._task, return_exceptions=True)


async def _bump_epoch(db: asyncpg.Pool, auction_id: int) -> None:
    await db.execute("UPDATE auctions SET owner_epoch = owner_epoch + 1 WHERE id = $1", auction_id)


# --- defect 1: memory ack mode ------------------------------------------------------------


async def test_memory_mode_never_passivates_an_actor_with_unstored_acked_events(
    db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder = await make_user(db)
    store = PgAuctionStore(db)
    persister = Persister(store, retry_failures=True)  # not started: the database is "away"
    registry = Registry(store, persister, durable=False)
    monkeypatch.setattr(registry_module, "IDLE_AFTER_S", -1.0)  # every actor counts as idle
    try:
        async with asyncio.timeout(TIMEOUT_S):
            actor = await registry.get(auction_id)
            reply = await _bid(actor, bidder, 1000)
            assert isinstance(reply, BidReply), reply  # acked at once, stored behind
            assert isinstance(await _ask_snapshot(actor), Snapshot)
            assert persister.queued_events == 1

            await registry._passivate_idle()
            assert registry.live(auction_id) is actor, "passivated with acked events unstored"

            persister.start()
            await persister.flush()
            await registry._passivate_idle()
            assert registry.live(auction_id) is None, "stored: it may sleep now"
    finally:
        await registry.close()
        await stop_hard(persister)
    stored = await db.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id
    )
    assert stored == 1


async def test_a_write_that_can_never_succeed_does_not_jam_the_memory_mode_persister(
    db: asyncpg.Pool,
) -> None:
    """A lasting error (here a CHECK violation) was retried for ever at the queue's head."""
    store = PgAuctionStore(db)
    (poisoned, _), (healthy, _) = await make_auction(db), await make_auction(db)
    bidder = await make_user(db)
    good = await decided_item(store, healthy, PlaceBid(bidder, 1000, str(uuid.uuid4())))
    raw = await decided_item(store, poisoned, PlaceBid(bidder, 1000, str(uuid.uuid4())))
    event = raw.events[0]
    assert isinstance(event, BidPlaced)
    bad = dataclasses.replace(raw, events=[dataclasses.replace(event, amount=0)])
    outcomes: dict[str, BidserverError | None] = {}
    persister = Persister(store, retry_failures=True)
    persister.submit(WriteUnit(bad, partial(outcomes.__setitem__, "bad")))
    persister.submit(WriteUnit(good, partial(outcomes.__setitem__, "good")))
    persister.start()
    try:
        async with asyncio.timeout(5.0):
            await persister.flush()
    finally:
        await stop_hard(persister)
    assert outcomes["good"] is None
    assert isinstance(outcomes["bad"], BidserverError)
    assert outcomes["bad"].code == "internal"
    stored = await db.fetch(
        "SELECT auction_id FROM auction_events WHERE auction_id = ANY($1)", [poisoned, healthy]
    )
    assert [r["auction_id"] for r in stored] == [healthy]


async def test_memory_mode_refused_write_reloads_and_resets_watchers_at_once(
    db: asyncpg.Pool,
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder = await make_user(db)
    watcher = Watcher()
    async with live_actor(db, auction_id, durable=False, start_persister=False) as (
        actor,
        persister,
    ):
        await _subscribe(actor, watcher)
        reply = await _bid(actor, bidder, 1000)
        assert isinstance(reply, BidReply)
        assert reply.seq == 1
        await _bump_epoch(db, auction_id)  # another writer took the auction meanwhile
        persister.start()
        await persister.flush()  # the write is refused by the fence

        snap = await _ask_snapshot(actor)  # no bid in between: the actor recovered by itself
        assert isinstance(snap, Snapshot)
        assert (snap.seq, snap.current_price) == (0, None), "the actor kept its unstored state"
        assert actor.epoch == 1
        reset = watcher.of_type("subscribed")
        assert len(reset) == 1
        assert reset[0]["recovered"] is False
        again = await _bid(actor, bidder, 1000)
        assert isinstance(again, BidReply)
        assert again.seq == 1
        await persister.flush()
    seqs = await db.fetch("SELECT seq FROM auction_events WHERE auction_id = $1", auction_id)
    assert [r["seq"] for r in seqs] == [1]


# --- defect 2: a failed close or extension ----------------------------------------------------


async def test_a_failed_close_is_retried_and_announced_without_a_command(
    db: asyncpg.Pool,
) -> None:
    auction_id, _ = await make_auction(db, ends_in=timedelta(seconds=1))
    watcher = Watcher()
    async with live_actor(db, auction_id, durable=True) as (actor, _):
        await _subscribe(actor, watcher)
        await _bump_epoch(db, auction_id)  # the close's write will be refused
        closed = await watcher.wait_for("closed")
    assert closed["seq"] == 1
    assert len(watcher.of_type("closed")) == 1
    status = await db.fetchval("SELECT status FROM auctions WHERE id = $1", auction_id)
    assert status == "closed"


async def test_a_failed_extension_does_not_leave_the_timer_on_an_unstored_end(
    db: asyncpg.Pool,
) -> None:
    auction_id, _ = await make_auction(db, ends_in=timedelta(seconds=1), anti_snipe_seconds=600)
    bidder = await make_user(db)
    watcher = Watcher()
    async with live_actor(db, auction_id, durable=True) as (actor, _):
        await _subscribe(actor, watcher)
        await _bump_epoch(db, auction_id)  # the bid and its extension are refused
        refused = await _bid(actor, bidder, 1000)
        assert isinstance(refused, BidserverError)
        assert refused.code == "unavailable"
        closed = await watcher.wait_for("closed")  # at the stored end, not 10 minutes on
    assert closed["seq"] == 1
    assert watcher.of_type("extended") == []


# --- defect 3: snapshots as of the command ------------------------------------------------------


async def test_snapshot_is_the_state_as_of_the_command_not_a_later_one(
    db: asyncpg.Pool,
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    first, second = await make_user(db), await make_user(db)
    async with live_actor(db, auction_id, durable=True, start_persister=False) as (
        actor,
        persister,
    ):
        loop = asyncio.get_running_loop()
        early = _bid(actor, first, 1000)
        asked: asyncio.Future[Snapshot | BidserverError] = loop.create_future()
        actor.current_snapshot(asked.set_result)
        later = _bid(actor, second, 5000)  # decided after the question, still being written
        persister.start()
        snap, a, b = await asyncio.gather(asked, early, later)
    assert isinstance(a, BidReply)
    assert isinstance(b, BidReply)
    assert isinstance(snap, Snapshot)
    assert (snap.seq, snap.current_price) == (1, 1000)


async def test_snapshot_behind_a_failed_write_is_answered(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder = await make_user(db)
    async with live_actor(db, auction_id, durable=True, start_persister=False) as (
        actor,
        persister,
    ):
        loop = asyncio.get_running_loop()
        lost = _bid(actor, bidder, 1000)
        asked: asyncio.Future[Snapshot | BidserverError] = loop.create_future()
        actor.current_snapshot(asked.set_result)
        await _bump_epoch(db, auction_id)
        persister.start()
        refused, answer = await asyncio.gather(lost, asked)
    assert isinstance(refused, BidserverError)
    assert refused.code == "unavailable"
    assert isinstance(answer, BidserverError), "it must never show the refused bid"
    assert answer.code == "unavailable"
