"""What the gateway and REST need of an engine: find an auction, then talk to it.

Two engines satisfy these: the actor engine (`Registry`, `AuctionActor` in this package) and
the row-lock baseline (`RowLockDirectory`, `RowLockAuction` in `bidserver.baseline.engine`).
"""

from __future__ import annotations

from typing import Protocol

from bidserver.auction import BidCommand
from bidserver.engine.fanout import Subscriber
from bidserver.engine.mailbox import ReplyFn, SnapshotFn, SubscribeFn
from bidserver.errors import Unavailable


class AuctionHandle(Protocol):
    def submit_bid(self, command: BidCommand, reply: ReplyFn) -> None: ...

    def subscribe(
        self, subscriber: Subscriber, since_seq: int | None, done: SubscribeFn
    ) -> None: ...

    def unsubscribe(self, subscriber: Subscriber) -> None: ...

    def cancel(self, done: SnapshotFn) -> None: ...

    def current_snapshot(self, done: SnapshotFn) -> None: ...

    @property
    def subscriber_count(self) -> int:
        """How many connections of this node watch the auction now."""


class Directory(Protocol):
    def live(self, auction_id: int) -> AuctionHandle | None:
        """The handle if it is ready now, without awaiting."""

    async def get(self, auction_id: int) -> AuctionHandle:
        """The handle, activating it if needed; raises `NotFound` for no such auction."""

    def start(self) -> None: ...

    async def close(self) -> None: ...


class NotOwnedHere:
    """The directory of a REST-only node (`--role http`): it owns no auction.

    Bids would be routed to the owning node through the cluster; without one, they are
    `unavailable` (retry elsewhere) rather than decided by a second writer.
    """

    def live(self, auction_id: int) -> AuctionHandle | None:
        return None

    async def get(self, auction_id: int) -> AuctionHandle:
        raise Unavailable("this node serves REST only and reaches no owner for this auction")

    def start(self) -> None:
        """Nothing runs: no actors live here."""

    async def close(self) -> None:
        """Nothing to drain."""
