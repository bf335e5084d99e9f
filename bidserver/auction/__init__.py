"""The auction rules core: a sans-I/O state machine (commands in, events out).

No asyncio, no clock, no I/O, no randomness here: `now` (epoch milliseconds) and ids come
in as arguments, so every rule is tested without an event loop. It owns its refusals
(`bidserver.auction.errors`, under the product's one error root).

May import: itself and the standard library's pure modules, nothing else (the import
boundary tests in `tests/unit/test_purity.py` and `tests/unit/test_boundaries.py` hold it).
"""

from bidserver.auction.commands import (
    BidCommand,
    BuyNow,
    CancelAuction,
    CloseIfDue,
    Command,
    PlaceBid,
    PlaceMaxBid,
)
from bidserver.auction.events import (
    BidKind,
    BidPlaced,
    Cancelled,
    Cause,
    Closed,
    Event,
    Extended,
    MaxRaised,
    Notice,
    Outbid,
    PublicEvent,
    Won,
)
from bidserver.auction.money import MAX_MONEY, increment, parse_money
from bidserver.auction.rules import Decision, Outcome, decide, handle
from bidserver.auction.state import (
    AuctionConfig,
    AuctionState,
    BidReply,
    Snapshot,
    Status,
    buy_now_offered,
    evolve,
    minimum_next_bid,
    new_state,
    pack,
    replay,
    reply_for,
    reserve_met,
    snapshot,
    status_at,
)

__all__ = [
    "MAX_MONEY",
    "AuctionConfig",
    "AuctionState",
    "BidCommand",
    "BidKind",
    "BidPlaced",
    "BidReply",
    "BuyNow",
    "CancelAuction",
    "Cancelled",
    "Cause",
    "CloseIfDue",
    "Closed",
    "Command",
    "Decision",
    "Event",
    "Extended",
    "MaxRaised",
    "Notice",
    "Outbid",
    "Outcome",
    "PlaceBid",
    "PlaceMaxBid",
    "PublicEvent",
    "Snapshot",
    "Status",
    "Won",
    "buy_now_offered",
    "decide",
    "evolve",
    "handle",
    "increment",
    "minimum_next_bid",
    "new_state",
    "pack",
    "parse_money",
    "replay",
    "reply_for",
    "reserve_met",
    "snapshot",
    "status_at",
]
