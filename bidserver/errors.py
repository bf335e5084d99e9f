"""The errors of the product beyond the rules: authentication, lookup, load, failure.

There is one error root, `BidserverError` (its `code` is the wire code of CONTRACT §3/§4);
it and the rules' own refusals live in the core (`bidserver.auction.errors`) and are
re-exported here, so transports map every class to a status in one place and never invent
codes of their own.
"""

from __future__ import annotations

from bidserver.auction.errors import (
    AlreadyLeading,
    AuctionClosed,
    AuctionNotOpen,
    BadRequest,
    BidserverError,
    BidTooLow,
    BuyNowUnavailable,
    MaxBelowCurrent,
    Rejection,
    SellerCannotBid,
)

__all__ = [
    "AlreadyLeading",
    "AuctionClosed",
    "AuctionNotOpen",
    "BadRequest",
    "BidTooLow",
    "BidserverError",
    "BuyNowUnavailable",
    "Conflict",
    "EmailTaken",
    "Forbidden",
    "Internal",
    "MaxBelowCurrent",
    "NotFound",
    "RateLimited",
    "Rejection",
    "SellerCannotBid",
    "Unauthenticated",
    "Unavailable",
]


class Unauthenticated(BidserverError):
    code = "unauthenticated"


class Forbidden(BidserverError):
    code = "forbidden"


class NotFound(BidserverError):
    code = "not_found"


class Conflict(BidserverError):
    """A state conflict that is not an auction rule (e.g. `email_taken`)."""

    code = "conflict"


class EmailTaken(Conflict):
    code = "email_taken"


class RateLimited(BidserverError):
    code = "rate_limited"


class Unavailable(BidserverError):
    """The outcome is not known to be stored; the client retries with the same bidId."""

    code = "unavailable"


class Internal(BidserverError):
    code = "internal"
