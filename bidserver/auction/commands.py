"""What a bidder, an admin or the clock asks an auction to do (imperative, immutable)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlaceBid:
    bidder_id: int
    amount: int
    bid_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceMaxBid:
    bidder_id: int
    max_amount: int
    bid_id: str | None = None


@dataclass(frozen=True, slots=True)
class BuyNow:
    bidder_id: int


@dataclass(frozen=True, slots=True)
class CancelAuction:
    """Authorisation (admin only) is the transport's job; the core checks only the status."""


@dataclass(frozen=True, slots=True)
class CloseIfDue:
    """Sent by the actor's timer: the core closes the auction when `now` has reached its end."""


BidCommand = PlaceBid | PlaceMaxBid | BuyNow
Command = PlaceBid | PlaceMaxBid | BuyNow | CancelAuction | CloseIfDue
