"""The refusals of the rules core, under the product's one error root.

Every refusal the product can give is a subclass of `BidserverError` whose `code` is the
wire code of CONTRACT §3/§4. The root lives here, with the errors the core itself raises (a
rule's `Rejection`, a `BadRequest` for money that is not money), so that the core imports
nothing outside itself; `bidserver.errors` adds the errors of the faces and the engine.
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
