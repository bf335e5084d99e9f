"""A simulated world: one node at a time over the faulty store, bidders, watchers, faults.

Everything random comes from the seed: the workload from one stream, the faults from
another. The driver takes steps (a random action after a random pause of virtual time),
and after each step the invariants are checked (`tests.sim.checks`); promises about a
single answer or event are checked the moment it arrives (`tests.sim.clients`).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import deque
from dataclasses import dataclass, field

from bidserver.auction import (
    AuctionConfig,
    BidPlaced,
    BidReply,
    BuyNow,
    PlaceBid,
    PlaceMaxBid,
    Snapshot,
    increment,
)
from bidserver.engine.mailbox import Reply, Subscription
from bidserver.errors import BidserverError
from tests.sim.clients import AFTER_CLOSE, BidRecord, Watcher, describe, is_answer, stored_cause
from tests.sim.clock import EPOCH_MS
from tests.sim.faults import FaultConfig, FaultyStore
from tests.sim.memstore import MemoryStore
from tests.sim.node import Node

SELLER = 1
FIRST_BIDDER = 1001


class Violation(AssertionError):
    """A promise was broken; the message says which, the run's report says how to replay."""


@dataclass(frozen=True, slots=True)
class SimOptions:
    seed: int
    durable: bool = True
    faults: FaultConfig = field(default_factory=FaultConfig)
    steps: int = 200
    crashes: bool = True  # only in durable mode: a crash loses memory acks by design
    # Checks switched off by name (see CHECKS), e.g. while the fix of what they find is
    # not on main yet.
    skip_checks: frozenset[str] = frozenset()


# The checks that can be switched off, and the promise each one holds.
CHECKS = {
    "refusal_memory": "a refused bidId sent again gets its refusal again (§2 Idempotency)",
    "soft_close_extension": "only a command that makes a record extends (§2 Soft close)",
    "row_lock": "a row lock on one auction fails no other auction's bids",
    "close_liveness": "an auction past its end is closed in storage soon after (faults over)",
}


class World:
    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.durable = options.durable
        self.rng = random.Random(f"{options.seed}/workload")
        self.trace: deque[str] = deque(maxlen=300)
        self.violations: list[str] = []
        self.memory = MemoryStore()
        self.store = FaultyStore(
            self.memory, options.faults, random.Random(f"{options.seed}/faults"), self.trace
        )
        self.node: Node | None = None
        self.generation = 0
        self.crashes = 0
        self.bids: list[BidRecord] = []
        self.buy_nows: list[tuple[int, int, int]] = []  # (auction, bidder, seq) acknowledged
        self.watchers: list[Watcher] = []
        self.prices: dict[int, int] = {}  # the latest price any client saw, per auction
        self.tasks: set[asyncio.Task[None]] = set()
        self.hot: list[int] = []  # the auctions bidders attend to this spell
        self.spell_ends = 0.0
        self.restarted_at = 0.0
        self.disturbed_until = 0.0  # the end of the latest fault that is not a row lock

    # --- bookkeeping ----------------------------------------------------------------------

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def log(self, line: str) -> None:
        self.trace.append(f"{self.now():9.3f} {line}")

    def report(self, problem: str) -> None:
        self.log(f"VIOLATION {problem}")
        self.violations.append(f"t={self.now():.3f}s: {problem}")

    def spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def live_node(self) -> Node:
        assert self.node is not None
        return self.node

    # --- set-up -----------------------------------------------------------------------------

    def create_auctions(self) -> None:
        rng = self.rng
        for auction_id in range(1, rng.randint(2, 5) + 1):
            start = EPOCH_MS - 1000 if rng.random() < 0.8 else EPOCH_MS + rng.randint(1, 15) * 1000
            price = rng.randint(10, 50) * 100
            reserve = price * rng.randint(2, 4) if rng.random() < 0.4 else None
            buy_now = price * rng.randint(5, 12) if rng.random() < 0.4 else None
            config = AuctionConfig(
                auction_id=auction_id,
                seller_id=SELLER,
                starts_at=start,
                ends_at=EPOCH_MS + rng.randint(30, 400) * 1000,
                starting_price=price,
                reserve_price=reserve,
                buy_now_price=buy_now,
                anti_snipe_ms=rng.choice((0, 5_000, 20_000)),
                max_extensions=rng.choice((None, 2, 5)),
            )
            self.memory.create(config)
            self.prices[auction_id] = price

    def start_node(self) -> None:
        self.generation += 1
        self.node = Node(self.store, durable=self.durable, generation=self.generation)
        if self.options.faults.slow_start:
            self.store.state.slow_until = self.now() + self.store._rng.uniform(0, 20)
        self.node.start()
        self.log(f"node {self.generation} started")
        for watcher in self.watchers:  # their connections died with the node
            watcher.attached_to = None
            watcher.subscribing = False

    # --- bids -------------------------------------------------------------------------------

    def new_bid(self, auction_id: int, kind: str) -> BidRecord:
        rng = self.rng
        bidder = SELLER if rng.random() < 0.03 else FIRST_BIDDER + rng.randrange(6)
        base = self.prices[auction_id]
        bid_id = str(uuid.UUID(int=rng.getrandbits(128)))
        if kind == "max":
            amount = base + increment(base) * rng.randint(1, 12)
            return BidRecord(auction_id, PlaceMaxBid(bidder, amount, bid_id), bid_id)
        if kind == "buy_now":
            return BidRecord(auction_id, BuyNow(bidder), None)
        amount = max(1, base + increment(base) * rng.choice((-1, 0, 1, 1, 1, 2, 3)))
        return BidRecord(auction_id, PlaceBid(bidder, amount, bid_id), bid_id)

    def resend_command(self, record: BidRecord) -> None:
        """The same bidId again, with whatever amount (§2: the first answer comes back)."""
        command = record.command
        base = self.prices[record.auction_id]
        amount = base + increment(base) * self.rng.randint(1, 4)
        if isinstance(command, PlaceBid):
            record.command = PlaceBid(command.bidder_id, amount, command.bid_id)
        elif isinstance(command, PlaceMaxBid):
            record.command = PlaceMaxBid(command.bidder_id, amount, command.bid_id)

    async def send(self, record: BidRecord, *, rest: bool = False) -> None:
        node = self.live_node()
        record.in_flight += 1
        self.log(f"send {record.command} to auction {record.auction_id}{' (REST)' * rest}")
        if rest:
            try:
                reply: Reply = await node.router.submit_bid(record.auction_id, record.command)
            except BidserverError as err:
                reply = err
            self.answer(record, reply, node.generation)
            return
        try:
            actor = node.registry.live(record.auction_id) or await node.registry.get(
                record.auction_id
            )
        except BidserverError as err:
            self.answer(record, err, node.generation)
            return
        generation = node.generation
        actor.submit_bid(record.command, lambda r: self.answer(record, r, generation))

    def answer(self, record: BidRecord, reply: Reply, generation: int) -> None:
        record.in_flight -= 1
        if generation != self.generation:
            return  # the connection died with its node: the client never heard it
        self.log(f"answer to {record.command}: {describe(reply)}")
        if isinstance(reply, BidReply):
            self.prices[record.auction_id] = max(
                self.prices[record.auction_id], reply.current_price
            )
            self.check_acked(record, reply)
        if is_answer(reply):
            self.check_stable(record, reply)
        elif isinstance(reply, BidserverError) and reply.code == "unavailable":
            self.check_lock_contained(record.auction_id, reply)

    def check_acked(self, record: BidRecord, reply: BidReply) -> None:
        """Durable: an acknowledgement means the bid (or its first answer) is stored."""
        if record.bid_id is None:
            self.buy_nows.append((record.auction_id, record.bidder, reply.seq))
        if not self.durable:
            return
        stored = self.memory.auctions[record.auction_id].seq
        if reply.seq > stored:
            self.report(f"acked {record.command} at seq {reply.seq}; stored seq is {stored}")
        elif record.bid_id is not None and not stored_cause(
            self.memory, record.auction_id, record.bidder, record.bid_id
        ):
            self.report(f"acked {record.command} but no stored event has its bidId")

    def check_lock_contained(self, auction_id: int, error: BidserverError) -> None:
        """A row lock on one auction only delays that auction (issue 9, defect 9)."""
        if "row_lock" in self.options.skip_checks or "fate" not in str(error):
            return
        now, locks = self.now(), self.store.state.locks or {}
        if now - max(self.disturbed_until, self.restarted_at, self.store.state.slow_until) < 5:
            return
        others = [a for a, until in locks.items() if a != auction_id and until > now - 3.0]
        if others and locks.get(auction_id, -1.0) < now - 3.0:
            self.report(
                f"a bid on auction {auction_id} failed ({error}) while only the row of "
                f"auction {others[0]} was locked"
            )

    def check_stable(self, record: BidRecord, reply: Reply) -> None:
        first = record.first
        if first is None or record.bid_id is None:
            record.first, record.crashes_at_answer = reply, self.crashes
            return
        if isinstance(first, BidReply):
            if reply != first:
                self.report(f"bidId {record.bid_id} first got {first}, now {describe(reply)}")
            return
        if record.crashes_at_answer != self.crashes or "refusal_memory" in self.options.skip_checks:
            record.first, record.crashes_at_answer = reply, self.crashes
            return
        if isinstance(reply, BidReply) or (
            reply.code != first.code and reply.code not in AFTER_CLOSE
        ):
            self.report(
                f"bidId {record.bid_id} was refused ({first.code}), now answered {describe(reply)}"
            )

    # --- REST reads and admin ---------------------------------------------------------------

    async def rest_snapshot(self, auction_id: int, *, cancel: bool = False) -> None:
        node = self.live_node()
        try:
            router = node.router
            snap = await (router.cancel(auction_id) if cancel else router.snapshot(auction_id))
        except BidserverError as err:
            self.log(f"{'cancel' if cancel else 'snapshot'} {auction_id}: {err.code}")
            return
        if node.generation == self.generation:
            self.log(f"{'cancel' if cancel else 'snapshot'} {auction_id}: seq {snap.seq}")
            self.check_snapshot(snap)

    def check_snapshot(self, snap: Snapshot) -> None:
        """Durable: REST shows committed state only (its seq and price are stored)."""
        if not self.durable:
            return
        row = self.memory.auctions[snap.auction_id]
        if snap.seq > row.seq:
            self.report(
                f"REST snapshot of auction {snap.auction_id} at seq {snap.seq}; "
                f"stored seq is {row.seq}"
            )
            return
        price = None
        for event in row.events:
            if isinstance(event, BidPlaced) and event.seq <= snap.seq:
                price = event.amount
        if price != snap.current_price:
            self.report(
                f"REST snapshot of auction {snap.auction_id} at seq {snap.seq} shows "
                f"price {snap.current_price}; stored at that seq: {price}"
            )

    # --- watchers ---------------------------------------------------------------------------

    def new_watcher(self, auction_id: int) -> Watcher:
        user = FIRST_BIDDER + self.rng.randrange(6) if self.rng.random() < 0.5 else None
        watcher = Watcher(
            len(self.watchers) + 1, auction_id, user, self.memory, self.durable, self.report
        )
        self.watchers.append(watcher)
        return watcher

    async def subscribe(self, watcher: Watcher) -> None:
        if watcher.subscribing or watcher.attached_to == self.generation or not watcher.wants:
            return
        node = self.live_node()
        watcher.subscribing = True
        since = watcher.last_seq
        try:
            actor = await node.registry.get(watcher.auction_id)
        except BidserverError:
            watcher.subscribing = False
            return

        def done(sub: Subscription | BidserverError) -> bool:
            watcher.subscribing = False
            if isinstance(sub, BidserverError) or node.generation != self.generation:
                return False
            watcher.subscribed(sub, since)
            watcher.attached_to = node.generation
            self.log(f"watcher {watcher.number} subscribed at seq {sub.snapshot.seq}")
            return watcher.wants

        actor.subscribe(watcher, since, done)

    def unsubscribe(self, watcher: Watcher) -> None:
        watcher.wants = False
        actor = self.live_node().registry.live(watcher.auction_id)
        if actor is not None:
            actor.unsubscribe(watcher)
        watcher.attached_to = None
        self.log(f"watcher {watcher.number} unsubscribed")
