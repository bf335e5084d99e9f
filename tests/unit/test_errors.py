"""The error root: refusals compare by kind, message and details, so a remembered answer
(an idempotent repeat) can be checked against the first one."""

from __future__ import annotations

from bidserver.auction.errors import AlreadyLeading, BidserverError, BidTooLow


def test_a_refusal_equals_the_same_refusal() -> None:
    first = BidTooLow("the minimum next bid is 1025", minimumNextBid=1025)
    again = BidTooLow("the minimum next bid is 1025", minimumNextBid=1025)
    assert first == again
    assert hash(first) == hash(again)
    assert len({first, again}) == 1


def test_refusals_differ_by_kind_message_or_details() -> None:
    base = BidTooLow("the minimum next bid is 1025", minimumNextBid=1025)
    assert base != AlreadyLeading("the minimum next bid is 1025", minimumNextBid=1025)
    assert base != BidTooLow("the minimum next bid is 1050", minimumNextBid=1025)
    assert base != BidTooLow("the minimum next bid is 1025", minimumNextBid=1050)
    assert base != "bid_too_low"


def test_the_default_message_is_the_code_in_words() -> None:
    assert BidserverError().message == "internal"
    assert BidTooLow().message == "bid too low"
