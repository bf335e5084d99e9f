"""The one error root of the product.

Every refusal the product can give is a subclass of `BidserverError` whose `code` is the
wire code of CONTRACT §3/§4; transports map the class to a status in one place and never
invent codes of their own. Pure module: the rules core imports it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BidserverError(Exception):
    """Root of every error the product reports to a client."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.code.replace("_", " "))
        self.message = message or self.code.replace("_", " ")
        self.details = details

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, BidserverError)
            and (self.message, self.details) == (other.message, other.details)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.message))


class BadRequest(BidserverError):
    code = "bad_request"


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


class Rejection(BidserverError):
    """An auction rule refused a command; the auction's state is unchanged."""

    code = "rejected"


class AuctionNotOpen(Rejection):
    code = "auction_not_open"


class AuctionClosed(Rejection):
    code = "auction_closed"


class SellerCannotBid(Rejection):
    code = "seller_cannot_bid"


class AlreadyLeading(Rejection):
    code = "already_leading"


class MaxBelowCurrent(Rejection):
    code = "max_below_current"


class BuyNowUnavailable(Rejection):
    code = "buy_now_unavailable"


class BidTooLow(Rejection):
    code = "bid_too_low"
