"""`docs/protocol.md` (issue 10, deliverable 2): its worked session is replayed against a real
gateway, message for message, and everything received also obeys
`/asyncapi.json`. See `protocol_replay.py` for the session format."""

from __future__ import annotations

import contextlib

import asyncpg

from tests.integration.protocol_replay import DOC, Replay, matches, sessions
from tests.integration.test_asyncapi import Checker
from tests.integration.wsclient import JSON_SP
from tests.support import running_engine

TOPICS = ("auth", "subscribe", "max_bid", "outbid", "sinceSeq", "bid_too_low", "unknown field")


def test_the_worked_session_covers_what_a_newcomer_needs() -> None:
    text = DOC.read_text()
    steps = [step for block in sessions(text) for step in block]
    assert len(steps) > 40
    sent = {step.message["type"] for step in steps if step.message and step.action == "send"}
    got = {step.message["type"] for step in steps if step.message and step.action == "expect"}
    assert {"auth", "subscribe", "bid", "max_bid", "unsubscribe", "ping"} <= sent
    assert {"outbid", "won", "extended", "closed", "error", "bid_result", "subscribed"} <= got
    for topic in TOPICS:
        assert topic in text, topic


def test_the_matcher_is_strict_but_for_timestamps() -> None:
    event = {"type": "extended", "auctionId": 1, "seq": 2, "endsAt": "2026-12-03T10:00:44.601Z"}
    assert matches(event, {**event, "endsAt": "2027-01-01T00:00:00.000Z"})
    assert not matches(event, {**event, "seq": 3})
    assert not matches(event, {**event, "extra": 1})
    assert not matches(event, {k: v for k, v in event.items() if k != "seq"})
    assert not matches(event, {**event, "endsAt": "soon"})
    assert not matches({"amount": 1}, {"amount": True})


async def test_the_worked_session_replays(db: asyncpg.Pool) -> None:
    """Over JSON; test_asyncapi.py draws the same messages over msgpack too."""
    steps = [step for block in sessions(DOC.read_text()) for step in block]
    checker = Checker()
    async with running_engine(db) as server, contextlib.AsyncExitStack() as stack:
        replay = Replay(server, db, JSON_SP)
        await replay.setup()
        await replay.run(steps, stack)
    for step in steps:
        if step.action == "expect":
            assert step.message is not None
            checker.check(step.message)  # what the doc shows obeys the AsyncAPI document too
