"""Subscriptions over real sockets (CONTRACT §3): snapshot, re-subscribe, unsubscribe, resume."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection

from bidserver.auction.money import increment
from bidserver.engine.actor import RECENT_EVENTS, AuctionActor
from bidserver.timefmt import to_iso
from storage.auctions import to_ms
from tests.integration.wsclient import (
    Msg,
    accepted_bid,
    ask,
    ask_all,
    barrier,
    public,
    send,
    subscribe,
    until,
)
from tests.support import RunningEngine, make_auction, make_user, running_engine

SNAPSHOT_FIELDS = {
    "auctionId",
    "seq",
    "status",
    "currentPrice",
    "bidCount",
    "leaderAlias",
    "minimumNextBid",
    "reserveMet",
    "buyNowAvailable",
    "startsAt",
    "endsAt",
}


async def _times(db: asyncpg.Pool, auction_id: int) -> tuple[str, str]:
    row = await db.fetchrow("SELECT starts_at, ends_at FROM auctions WHERE id = $1", auction_id)
    assert row is not None
    return to_iso(to_ms(row["starts_at"])), to_iso(to_ms(row["ends_at"]))


async def _make_events(leader: ClientConnection, challenger: ClientConnection, aid: int) -> int:
    """Over 40 events: a high max, then plain bids it answers (a bid and a proxy each)."""
    await ask(leader, {"type": "max_bid", "auctionId": aid, "maxAmount": 10**9})
    price = 1000
    while True:
        amount = price + increment(price)
        result = await accepted_bid(challenger, aid, amount)
        price = result["currentPrice"]
        if result["seq"] > RECENT_EVENTS + 12:
            return int(result["seq"])


async def test_snapshot_has_every_field_and_hides_the_reserve(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(
        db, starting_price=1000, reserve_price=5000, buy_now_price=20_000
    )
    starts_at, ends_at = await _times(db, auction_id)
    async with running_engine(db) as server, server.client(user) as ws:
        reply = await subscribe(ws, auction_id, ref="s1")
        assert set(reply) >= {"type", "auctionId", "snapshot", "recovered", "ref"}
        assert (reply["auctionId"], reply["recovered"], reply["ref"]) == (auction_id, False, "s1")
        snap = reply["snapshot"]
        assert set(snap) >= SNAPSHOT_FIELDS
        assert {k: snap[k] for k in SNAPSHOT_FIELDS} == {
            "auctionId": auction_id,
            "seq": 0,
            "status": "open",
            "currentPrice": None,
            "bidCount": 0,
            "leaderAlias": None,
            "minimumNextBid": 1000,
            "reserveMet": False,
            "buyNowAvailable": True,
            "startsAt": starts_at,
            "endsAt": ends_at,
        }
        assert not {"reservePrice", "sellerId", "leaderId"} & set(snap)
        await accepted_bid(ws, auction_id, 1000)
        snap = (await subscribe(ws, auction_id))["snapshot"]
        assert {k: snap[k] for k in ("seq", "currentPrice", "bidCount", "leaderAlias")} == {
            "seq": 1,
            "currentPrice": 1000,
            "bidCount": 1,
            "leaderAlias": "bidder-1",
        }
        assert (snap["minimumNextBid"], snap["reserveMet"], snap["buyNowAvailable"]) == (
            1050,
            False,
            True,
        )


async def test_snapshot_of_a_scheduled_auction(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(
        db, starts_in=timedelta(hours=1), ends_in=timedelta(hours=2), buy_now_price=9000
    )
    async with running_engine(db) as server, server.client() as ws:
        snap = (await subscribe(ws, auction_id))["snapshot"]
        assert (snap["status"], snap["buyNowAvailable"], snap["reserveMet"]) == (
            "scheduled",
            False,
            True,
        )


async def test_resubscribe_answers_again_without_duplicate_events(db: asyncpg.Pool) -> None:
    a, w = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db)
    async with running_engine(db) as server, server.client(a) as bidder, server.client(w) as ws:
        first = await subscribe(ws, auction_id, ref=1)
        second = await subscribe(ws, auction_id, ref=2)
        assert (first["ref"], second["ref"]) == (1, 2)
        assert first["snapshot"] == second["snapshot"]
        await accepted_bid(bidder, auction_id, 1000)
        assert [e["seq"] for e in public(await barrier(ws))] == [1]


async def test_unsubscribe_stops_events(db: asyncpg.Pool) -> None:
    a, w = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db)
    other, _ = await make_auction(db)
    async with running_engine(db) as server, server.client(a) as bidder, server.client(w) as ws:
        await subscribe(ws, auction_id)
        await accepted_bid(bidder, auction_id, 1000)
        reply = await ask(ws, {"type": "unsubscribe", "auctionId": auction_id, "ref": "u"})
        assert reply == {"type": "unsubscribed", "auctionId": auction_id, "ref": "u"}
        b = await make_user(db)
        async with server.client(b) as rival:
            await accepted_bid(rival, auction_id, 5000)
        assert public(await barrier(ws)) == []
        # Unsubscribing from an auction one does not watch is answered too.
        reply = await ask(ws, {"type": "unsubscribe", "auctionId": other})
        assert (reply["type"], reply["auctionId"]) == ("unsubscribed", other)


async def test_resume_from_memory(db: asyncpg.Pool) -> None:
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        async with server.client(w) as watcher:
            await subscribe(watcher, auction_id)
            await accepted_bid(wa, auction_id, 1000)
            await accepted_bid(wb, auction_id, 1100)
            seen = [e["seq"] for e in public(await barrier(watcher))]
            assert seen == [1, 2]
        await accepted_bid(wa, auction_id, 1200)
        await accepted_bid(wb, auction_id, 1300)
        async with server.client(w) as watcher:
            messages = await ask_all(
                watcher, {"type": "subscribe", "auctionId": auction_id, "sinceSeq": 2}
            )
            reply = messages[-1]
            assert (reply["recovered"], reply["snapshot"]["seq"]) == (True, 4)
            caught_up = await barrier(watcher)
            assert [(e["seq"], e["amount"]) for e in caught_up] == [(3, 1200), (4, 1300)]
            await accepted_bid(wa, auction_id, 1400)
            assert [e["seq"] for e in public(await barrier(watcher))] == [5]


async def _resume_and_follow(server: RunningEngine, user: int, aid: int, since: int) -> list[Msg]:
    async with server.client(user) as watcher:
        reply = await subscribe(watcher, aid, sinceSeq=since)
        assert reply["recovered"] is True
        events = await barrier(watcher)
        b = await make_user(server.pool)
        async with server.client(b) as late:
            result = await accepted_bid(late, aid, reply["snapshot"]["minimumNextBid"])
        events += await barrier(watcher)
        assert events[-1]["seq"] == result["seq"]
        return events


async def test_resume_from_the_database(db: asyncpg.Pool) -> None:
    """More events than the actor keeps in memory: the missed ones come from the database."""
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        last = await _make_events(wa, wb, auction_id)
        assert last > RECENT_EVENTS + 10
        events = await _resume_and_follow(server, w, auction_id, 2)
    assert all(e["type"] == "bid" for e in events)
    assert [e["seq"] for e in events] == list(range(3, last + 3))  # + the live bid and proxy
    stored = await db.fetch(
        "SELECT payload FROM auction_events WHERE auction_id = $1 AND seq > 2 ORDER BY seq",
        auction_id,
    )
    assert [r["payload"] for r in stored] == events


async def test_resume_after_a_restart_continues_the_numbering(db: asyncpg.Pool) -> None:
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        await accepted_bid(wa, auction_id, 1000)
        await accepted_bid(wb, auction_id, 1100)
        await accepted_bid(wa, auction_id, 1200)
    async with running_engine(db) as server:  # a new actor, loaded from the database
        events = await _resume_and_follow(server, w, auction_id, 1)
    assert [(e["seq"], e["amount"]) for e in events] == [(2, 1100), (3, 1200), (4, 1250)]


async def test_since_seq_beyond_current_is_not_recovered(db: asyncpg.Pool) -> None:
    a = await make_user(db)
    auction_id, _ = await make_auction(db)
    async with running_engine(db) as server, server.client(a) as ws:
        await accepted_bid(ws, auction_id, 1000)
        reply = await subscribe(ws, auction_id, sinceSeq=5)
        assert (reply["recovered"], reply["snapshot"]["seq"]) == (False, 1)
        assert await barrier(ws) == []
        reply = await subscribe(ws, auction_id, sinceSeq=1)  # nothing missed: recovered
        assert (reply["recovered"], reply["snapshot"]["seq"]) == (True, 1)
        assert await barrier(ws) == []


def _subscriptions_gauge() -> float:
    value = REGISTRY.get_sample_value("bidserver_ws_subscriptions")
    assert value is not None
    return value


async def test_unknown_auction_is_not_found(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db)
    missing = 2**62
    async with running_engine(db) as server, server.client(user) as ws:
        before = _subscriptions_gauge()
        cases: list[tuple[str, dict[str, int]]] = [
            ("subscribe", {}),
            ("subscribe", {"sinceSeq": 0}),
            ("bid", {"amount": 1000}),
        ]
        for kind, extra in cases:
            message = {"type": kind, "auctionId": missing, **extra}
            reply = await ask(ws, {**message, "ref": kind})
            assert (reply["type"], reply["code"], reply["ref"]) == ("error", "not_found", kind)
        assert _subscriptions_gauge() == before  # a refused subscription holds nothing
        await subscribe(ws, auction_id)
        assert _subscriptions_gauge() == before + 1


async def _wait_attached(server: RunningEngine, auction_id: int, count: int) -> None:
    """No event tells when the actor attached a subscriber: poll its count, bounded."""
    actor = server.engine.registry.live(auction_id)
    assert isinstance(actor, AuctionActor)
    for _ in range(600):  # up to 3 s
        if actor.subscriber_count >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the actor attached {actor.subscriber_count} of {count} subscribers")


async def test_resubscribe_while_catching_up_from_the_database_keeps_live_events(
    db: asyncpg.Pool,
) -> None:
    """A plain re-subscribe overtakes a resume still reading the database."""
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db) as server,
        server.client(a) as wa,
        server.client(b) as wb,
        server.client(w) as watcher,
    ):
        last = await _make_events(wa, wb, auction_id)
        async with db.acquire() as conn:
            lock = conn.transaction()
            await lock.start()
            await conn.execute("LOCK TABLE auction_events IN ACCESS EXCLUSIVE MODE")
            try:
                await send(watcher, {"type": "subscribe", "auctionId": auction_id, "sinceSeq": 2})
                await _wait_attached(server, auction_id, 1)  # now reading the database
                reply = await subscribe(watcher, auction_id, ref="plain")
                assert (reply["recovered"], reply["snapshot"]["seq"]) == (False, last)
            finally:
                await lock.rollback()
        result = await accepted_bid(wb, auction_id, reply["snapshot"]["minimumNextBid"])
        seen = await until(watcher, "bid")
        seen += await barrier(watcher)
        assert [e["seq"] for e in public(seen) if e["seq"] > last] == [last + 1, result["seq"]]


async def test_pipelined_resubscribes_are_each_answered(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(db)
    async with running_engine(db) as server, server.client() as ws:
        for ref in (1, 2, 3):  # sent before the auction's actor is even loaded
            await send(ws, {"type": "subscribe", "auctionId": auction_id, "ref": ref})
        seen = await until(ws, "subscribed")
        seen += await barrier(ws)
        assert [m.get("ref") for m in seen if m["type"] == "subscribed"] == [1, 2, 3]
