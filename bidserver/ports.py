"""The storage port the engine depends on; `storage/` holds its adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bidserver.auction import AuctionConfig, Event
from bidserver.errors import Unavailable


@dataclass(frozen=True, slots=True)
class LoadedAuction:
    config: AuctionConfig
    owner_epoch: int
    events: list[Event]


@dataclass(frozen=True, slots=True)
class Projection:
    """The auctions row as after a unit: what REST reads without asking the actor."""

    status: str
    current_price: int | None
    bid_count: int
    leader_id: int | None
    leader_max: int | None
    extensions: int
    bidder_count: int
    winner_id: int | None
    seq: int
    version: int
    ends_at: int


@dataclass(frozen=True, slots=True)
class AppendItem:
    """Events of one auction, appended after `from_version`, with their public payloads."""

    auction_id: int
    owner_epoch: int
    from_version: int
    events: Sequence[Event]
    payloads: Sequence[bytes | None]  # each public event's UTF-8 JSON, as sent
    projection: Projection


class RowsBusy(Unavailable):
    """`append` committed every item except those of the `busy` auctions, whose rows another
    transaction holds locked: nothing of theirs was written; try them again later. `refused`
    are the auctions the fence refused (`append`'s usual answer). A caller that does not
    know this error may treat it as any `Unavailable`: retrying the whole batch is safe,
    since what committed counts as already stored."""

    def __init__(self, busy: set[int], refused: set[int]) -> None:
        super().__init__("auction rows locked by another transaction", busy=sorted(busy))
        self.busy = busy
        self.refused = refused


class AuctionStore(Protocol):
    async def load(self, auction_id: int) -> LoadedAuction | None:
        """The auction's terms and its whole event log; None if there is no such auction."""

    async def append(self, items: Sequence[AppendItem]) -> set[int]:
        """Commit the items in one transaction; returns the auctions the fence refused.

        Raises `Unavailable` when the commit's fate is unknown, and `RowsBusy` when only some
        auctions' rows were locked (the rest committed): one slow row delays its own auction.
        """

    async def public_events(
        self, auction_id: int, after_seq: int, up_to_seq: int
    ) -> list[dict[str, object]]:
        """Stored wire payloads of public events with after_seq < seq <= up_to_seq."""

    async def due(self, until_ms: int) -> list[int]:
        """Ids of live auctions whose end is before `until_ms`."""


class OwnershipStore(Protocol):
    async def take_over(self, auction_id: int) -> int | None:
        """Bump the auction's owner epoch (the fence) and return it; None if no such auction.

        Raises `Unavailable` when the database cannot be reached in time.
        """
