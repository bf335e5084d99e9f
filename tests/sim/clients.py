"""What the simulated clients remember, and the promises checked as their answers arrive.

A bid is remembered by its `bidId` with the first *answer* it got (an acceptance or a
rule's refusal; `unavailable`, `rate_limited` and `internal` are not answers, CONTRACT §2
Idempotency). Every later answer to the same `bidId` must be that one. A watcher checks
that the events it is pushed come in `seq` order, each once, with no gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from bidserver.auction import BidCommand, BidReply, Snapshot
from bidserver.engine.mailbox import Reply, Subscription
from bidserver.errors import BidserverError
from bidserver.wire.frames import Frames
from tests.sim.memstore import MemoryStore

NOT_ANSWERS = frozenset({"unavailable", "rate_limited", "internal"})
# After its auction ends a refused bidId may be decided again and find the auction closed.
AFTER_CLOSE = frozenset({"auction_closed", "auction_not_open"})

Report = Callable[[str], None]


def is_answer(reply: Reply) -> bool:
    return isinstance(reply, BidReply) or reply.code not in NOT_ANSWERS


def describe(reply: Reply | Snapshot | None) -> str:
    if isinstance(reply, BidserverError):
        return reply.code
    return repr(reply)


@dataclass(slots=True)
class BidRecord:
    auction_id: int
    command: BidCommand
    bid_id: str | None
    first: Reply | None = None  # the first answer
    crashes_at_answer: int = 0  # a crash may forget a refusal (only graceful restarts keep it)
    in_flight: int = 0

    @property
    def bidder(self) -> int:
        return self.command.bidder_id


def stored_cause(memory: MemoryStore, auction_id: int, bidder: int, bid_id: str) -> bool:
    for event in memory.auctions[auction_id].events:
        cause = getattr(event, "cause", None)
        if cause is not None and cause.bidder_id == bidder and cause.bid_id == bid_id:
            return True
    return False


def stored_seq(memory: MemoryStore, auction_id: int) -> int:
    return memory.auctions[auction_id].seq


@dataclass(eq=False)
class Watcher:
    """A WebSocket subscriber of one auction (the engine's `Subscriber` port)."""

    number: int
    auction_id: int
    watcher_user: int | None
    memory: MemoryStore
    durable: bool
    report: Report
    last_seq: int | None = None  # the last seq it holds (from a snapshot or an event)
    attached_to: int | None = None  # the node generation it is attached to
    wants: bool = True  # keeps (re)subscribing until it unsubscribes
    subscribing: bool = False
    received: list[tuple[int, bytes]] = field(default_factory=list)
    terminal: int = 0  # closed/cancelled events received

    @property
    def user_id(self) -> int | None:
        return self.watcher_user

    def push(self, frames: Frames) -> None:
        message = frames.message
        if message.get("type") in ("outbid", "won"):
            return
        self._event(message, frames.utf8())

    def _event(self, message: dict[str, object], utf8: bytes) -> None:
        seq = message.get("seq")
        name = f"watcher {self.number} of auction {self.auction_id}"
        if not isinstance(seq, int) or self.last_seq is None or seq != self.last_seq + 1:
            self.report(f"{name}: got seq {seq} after {self.last_seq} (not dense, once, in order)")
            return
        self.last_seq = seq
        self.received.append((seq, utf8))
        if message.get("type") in ("closed", "cancelled"):
            self.terminal += 1
        if self.durable:
            self.check_stored(seq, utf8)

    def check_stored(self, seq: int, utf8: bytes) -> None:
        stored = self.memory.stored_payload(self.auction_id, seq)
        if stored is None:
            self.report(
                f"watcher {self.number}: auction {self.auction_id} seq {seq} was "
                "broadcast but is not stored"
            )
        elif orjson.loads(stored) != orjson.loads(utf8):
            self.report(
                f"watcher {self.number}: auction {self.auction_id} seq {seq} "
                f"broadcast {utf8!r} but stored {stored!r}"
            )

    def subscribed(self, sub: Subscription, since: int | None) -> None:
        """Take the snapshot, then the backlog (from memory or, as the gateway does, storage)."""
        snap = sub.snapshot
        if since is not None and since > snap.seq:
            self.report(
                f"watcher {self.number}: saw seq {since} of auction {self.auction_id}"
                f" but a new subscription's snapshot is at seq {snap.seq}"
            )
        if self.durable and snap.seq > stored_seq(self.memory, self.auction_id):
            self.report(
                f"watcher {self.number}: snapshot at seq {snap.seq} but auction "
                f"{self.auction_id} has seq {stored_seq(self.memory, self.auction_id)}"
                " stored"
            )
        if not sub.recovered or since is None:
            self.last_seq = snap.seq
            return
        if sub.fetch_after is not None:
            # The gateway's catch-up: stored events, or `recovered: false` if any is missing.
            stored = self.memory.public_events(self.auction_id, sub.fetch_after, snap.seq)
            if len(stored) != snap.seq - sub.fetch_after:
                self.last_seq = snap.seq
                return
            self.last_seq = since
            for payload in stored:
                self._event(payload, orjson.dumps(payload))
        self.last_seq = since if sub.fetch_after is None else self.last_seq
        for frames in sub.backlog:
            self.push(frames)
        if self.last_seq != snap.seq:
            self.report(
                f"watcher {self.number}: resumed from {since} to {self.last_seq}, "
                f"not to the snapshot's seq {snap.seq}"
            )
            self.last_seq = snap.seq
