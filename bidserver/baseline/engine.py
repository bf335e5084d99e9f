"""The row-lock baseline (`bidserver serve --engine rowlock`): the usual design, for comparison.

Same gateway, same protocol, same rules core; but no actor holds the state. Each command
is one PostgreSQL transaction: lock the auction row, rebuild the state the rules need from
it, decide, insert the records, update the row, commit, then answer and broadcast. The
benchmark measures what the actor design buys against exactly this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg

from bidserver.auction import (
    AuctionState,
    BidCommand,
    BidReply,
    CancelAuction,
    Notice,
    PlaceBid,
    PlaceMaxBid,
    decide,
    pack,
    reply_for,
    snapshot,
)
from bidserver.baseline.store import auction_exists, lock_state, stored_answer
from bidserver.engine.fanout import Subscriber
from bidserver.engine.mailbox import ReplyFn, SnapshotFn, SubscribeFn, Subscription
from bidserver.engine.recording import apply_events
from bidserver.errors import BidserverError, NotFound, Unavailable
from bidserver.timefmt import now_ms
from bidserver.wire import notice_message
from bidserver.wire.frames import Frames
from storage.auctions import write_items
from storage.errors import translate

_REORDER_LIMIT = 256  # commits from elsewhere never arrive here: stop waiting for them


@dataclass(frozen=True, slots=True)
class _Done:
    reply: BidReply | None
    frames: list[tuple[int, Frames]]
    notices: tuple[Notice, ...]


class RowLockAuction:
    """Holds only the subscribers; every command reads and writes the locked row."""

    def __init__(self, auction_id: int, pool: asyncpg.Pool, seq: int) -> None:
        self.auction_id = auction_id
        self._pool = pool
        self._subscribers: dict[Subscriber, None] = {}
        self._next_seq = seq + 1
        self._held: dict[int, Frames] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit_bid(self, command: BidCommand, reply: ReplyFn) -> None:
        self._spawn(self._bid(command, reply))

    async def _bid(self, command: BidCommand, reply: ReplyFn) -> None:
        try:
            done = await self._transact(command)
        except BidserverError as err:
            reply(err)
            return
        if done.reply is not None:
            reply(done.reply)
        self._publish(done)

    async def _transact(self, command: BidCommand | CancelAuction) -> _Done:
        user = None if isinstance(command, CancelAuction) else command.bidder_id
        with translate():
            async with self._pool.acquire() as conn, conn.transaction():
                state = await lock_state(conn, self.auction_id, user)
                if state is None:
                    raise NotFound(f"auction {self.auction_id} does not exist")
                await self._known_answer(conn, state, command)
                return await self._apply(conn, state, command)

    async def _known_answer(
        self, conn: Any, state: AuctionState, command: BidCommand | CancelAuction
    ) -> None:
        if isinstance(command, PlaceBid | PlaceMaxBid) and command.bid_id is not None:
            bidder = command.bidder_id
            alias = state.aliases.get(bidder)
            answer = await stored_answer(conn, self.auction_id, bidder, command.bid_id, alias)
            if answer is not None:
                state.answers.setdefault(bidder, {})[command.bid_id] = pack(answer)

    async def _apply(
        self, conn: Any, state: AuctionState, command: BidCommand | CancelAuction
    ) -> _Done:
        now = now_ms()
        decision = decide(state, command, now)  # a Rejection rolls the transaction back
        if decision.repeat is not None:
            return _Done(decision.repeat, [], ())
        frames, item = apply_events(state, decision.events, 0, now)
        if await write_items(conn, [item]):
            raise Unavailable("the auction changed hands; retry")
        reply = None if decision.cause is None else reply_for(state, decision.cause)
        return _Done(reply, frames, decision.notices)

    def _publish(self, done: _Done) -> None:
        """Commits finish in lock order, but their tasks may resume out of it: re-sort."""
        for seq, frames in done.frames:
            self._held[seq] = frames
        while self._next_seq in self._held or len(self._held) > _REORDER_LIMIT:
            seq = self._next_seq if self._next_seq in self._held else min(self._held)
            frames = self._held.pop(seq)
            self._next_seq = seq + 1
            for subscriber in list(self._subscribers):
                subscriber.push(frames)
        for notice in done.notices:
            private = Frames(notice_message(self.auction_id, notice))
            for subscriber in list(self._subscribers):
                if subscriber.user_id == notice.user_id:
                    subscriber.push(private)

    def subscribe(self, subscriber: Subscriber, since_seq: int | None, done: SubscribeFn) -> None:
        self._spawn(self._subscribe(subscriber, since_seq, done))

    async def _subscribe(
        self, subscriber: Subscriber, since_seq: int | None, done: SubscribeFn
    ) -> None:
        try:
            snap = await self._snapshot()
        except BidserverError as err:
            done(err)
            return
        behind = since_seq is not None and since_seq < snap.seq
        fetch_after = since_seq if behind else None
        recovered = since_seq is not None and since_seq <= snap.seq
        if done(Subscription(snap, recovered, [], fetch_after)):
            self._subscribers[subscriber] = None

    async def _snapshot(self) -> Any:
        with translate():
            async with self._pool.acquire() as conn, conn.transaction():
                state = await lock_state(conn, self.auction_id, None)
        if state is None:
            raise NotFound(f"auction {self.auction_id} does not exist")
        return snapshot(state, now_ms())

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.pop(subscriber, None)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def cancel(self, done: SnapshotFn) -> None:
        self._spawn(self._cancel(done))

    async def _cancel(self, done: SnapshotFn) -> None:
        try:
            result = await self._transact(CancelAuction())
            self._publish(result)
            done(await self._snapshot())
        except BidserverError as err:
            done(err)

    def current_snapshot(self, done: SnapshotFn) -> None:
        async def answer() -> None:
            try:
                done(await self._snapshot())
            except BidserverError as err:
                done(err)

        self._spawn(answer())


class RowLockDirectory:
    """The baseline's registry: a handle per auction for its subscribers, nothing else."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._auctions: dict[int, RowLockAuction] = {}

    def live(self, auction_id: int) -> RowLockAuction | None:
        return self._auctions.get(auction_id)

    async def get(self, auction_id: int) -> RowLockAuction:
        handle = self._auctions.get(auction_id)
        if handle is None:
            with translate():
                seq = await auction_exists(self._pool, auction_id)
            if seq is None:
                raise NotFound(f"auction {auction_id} does not exist")
            handle = self._auctions.setdefault(
                auction_id, RowLockAuction(auction_id, self._pool, seq)
            )
        return handle

    def start(self) -> None:
        """Nothing runs in the background: no close timers either (a baseline, not a product)."""

    async def close(self) -> None:
        await asyncio.gather(*(a.drain() for a in self._auctions.values()))
        self._auctions.clear()
