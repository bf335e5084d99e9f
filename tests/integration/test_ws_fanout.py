"""Broadcast over real sockets (CONTRACT §2, §3): ordering, close, soft close, slow consumers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection, connect

import bidserver.gateway.session
from bidserver.config import WsRateLimit
from bidserver.timefmt import from_iso, now_ms, to_iso
from storage.auctions import to_ms
from tests.integration.wsclient import (
    MSGPACK_SP,
    Msg,
    accepted_bid,
    ask,
    barrier,
    bid,
    close_code,
    public,
    recv,
    send,
    subscribe,
    until,
)
from tests.support import RunningEngine, make_auction, make_user, running_engine

MIB = 1024 * 1024


async def _collect_replies(ws: ClientConnection, refs: set[str]) -> tuple[list[Msg], list[Msg]]:
    """Read until every ref has its reply; return (replies, everything read)."""
    replies: list[Msg] = []
    seen: list[Msg] = []
    async with asyncio.timeout(5):
        while len(replies) < len(refs):
            message = await recv(ws)
            seen.append(message)
            if message.get("ref") in refs:
                replies.append(message)
    return replies, seen


async def _race(wa: ClientConnection, wb: ClientConnection, auction_id: int) -> list[list[Msg]]:
    """Both bidders fire 15 rising bids, interleaved, before reading any answer."""
    for i in range(15):
        for ws, name, base in ((wa, "a", 1000), (wb, "b", 1100)):
            message = {"type": "bid", "auctionId": auction_id, "amount": base + 200 * i}
            await send(ws, {**message, "ref": f"{name}{i}"})
        if i % 2:  # a loop turn now and then: some bids interleave, some race
            await asyncio.sleep(0)
    seen: list[list[Msg]] = []
    for ws, name in ((wa, "a"), (wb, "b")):
        replies, read = await _collect_replies(ws, {f"{name}{i}" for i in range(15)})
        assert all(r["type"] in ("bid_result", "error") for r in replies)
        seen.append(read + await barrier(ws))
    return seen


async def test_bidders_and_watchers_see_the_same_dense_seq_order(db: asyncpg.Pool) -> None:
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db) as server,
        server.client(a) as wa,
        server.client(b) as wb,
        server.client(w) as text_watcher,
        server.client(w, subprotocols=[MSGPACK_SP]) as packed_watcher,
    ):
        for ws in (wa, wb, text_watcher, packed_watcher):
            await subscribe(ws, auction_id)
        seen_a, seen_b = await _race(wa, wb, auction_id)
        accepted = [m for m in seen_a + seen_b if m["type"] == "bid_result"]
        watched = public(await barrier(text_watcher))
        watched_packed = public(await barrier(packed_watcher))
        last_seq = (await subscribe(text_watcher, auction_id))["snapshot"]["seq"]
    assert last_seq == len(accepted) >= 2  # every accepted plain bid is one record
    for events in (public(seen_a), public(seen_b), watched_packed):
        assert events == watched
    assert [e["seq"] for e in watched] == list(range(1, last_seq + 1))
    assert sorted(r["seq"] for r in accepted) == list(range(1, last_seq + 1))
    prices = [e["currentPrice"] for e in watched]
    assert prices == sorted(prices)
    stored = await db.fetch(
        "SELECT payload FROM auction_events WHERE auction_id = $1 ORDER BY seq", auction_id
    )
    assert [r["payload"] for r in stored] == watched


async def test_close_is_announced_with_and_without_bids(db: asyncpg.Pool) -> None:
    """Three auctions end in ~1.5 s: no bids, a winner, a bid under the reserve."""
    a, b = await make_user(db), await make_user(db)
    ends = timedelta(seconds=1.5)
    quiet, _ = await make_auction(db, ends_in=ends, anti_snipe_seconds=0)
    sold, _ = await make_auction(db, ends_in=ends, anti_snipe_seconds=0)
    unmet, _ = await make_auction(db, ends_in=ends, anti_snipe_seconds=0, reserve_price=5000)
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        for auction_id in (quiet, sold, unmet):
            await subscribe(wa, auction_id)
            await subscribe(wb, auction_id)
        await accepted_bid(wa, sold, 1000)
        await accepted_bid(wa, unmet, 1000)
        seen: list[Msg] = []
        async with asyncio.timeout(4):  # the close is pushed: wait for it, not for a clock
            while sum(m["type"] == "closed" for m in seen) < 3:
                seen.append(await recv(wa, 4))
        seen += await barrier(wa)
        closed = {m["auctionId"]: m for m in seen if m["type"] == "closed"}
        assert closed[quiet] == {
            "type": "closed",
            "auctionId": quiet,
            "seq": 1,
            "status": "closed",
            "winnerAlias": None,
            "finalPrice": None,
            "reserveMet": True,
        }
        assert {k: closed[sold][k] for k in ("seq", "winnerAlias", "finalPrice", "reserveMet")} == {
            "seq": 2,
            "winnerAlias": "bidder-1",
            "finalPrice": 1000,
            "reserveMet": True,
        }
        assert {
            k: closed[unmet][k] for k in ("seq", "winnerAlias", "finalPrice", "reserveMet")
        } == {
            "seq": 2,
            "winnerAlias": None,
            "finalPrice": 1000,
            "reserveMet": False,
        }
        won = [m for m in seen if m["type"] == "won"]
        assert won == [{"type": "won", "auctionId": sold, "finalPrice": 1000}]
        assert seen.index(won[0]) > seen.index(closed[sold])
        loser: list[Msg] = []
        async with asyncio.timeout(4):
            while sum(m["type"] == "closed" for m in loser) < 3:
                loser.append(await recv(wb, 4))
        assert all(m["type"] != "won" for m in loser + await barrier(wb))
        refused = await bid(wb, sold, 5000)
        assert (refused["type"], refused["code"]) == ("error", "auction_closed")
    statuses = await db.fetch(
        "SELECT id, status FROM auctions WHERE id = ANY($1::bigint[])", [quiet, sold, unmet]
    )
    assert {r["status"] for r in statuses} == {"closed"}


async def test_soft_close_extends_after_the_records(db: asyncpg.Pool) -> None:
    a, b = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(
        db, starting_price=1000, ends_in=timedelta(seconds=30), anti_snipe_seconds=60
    )
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        original = (await subscribe(wb, auction_id))["snapshot"]["endsAt"]
        before = now_ms()
        result = await ask(wb, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 10_000})
        after = now_ms()
        events = public(await barrier(wb))
        assert [(e["type"], e["seq"]) for e in events] == [("bid", 1), ("extended", 2)]
        assert events[0]["endsAt"] == original  # the record as it stood, then the extension
        extended = events[1]
        assert set(extended) >= {"type", "auctionId", "seq", "endsAt"}
        assert before + 60_000 <= from_iso(extended["endsAt"]) <= after + 60_000
        assert (result["seq"], result["endsAt"]) == (2, extended["endsAt"])
        stored = await db.fetchval("SELECT ends_at FROM auctions WHERE id = $1", auction_id)
        assert to_iso(to_ms(stored)) == extended["endsAt"]
        # A challenge at or below the max: two records, then one extension.
        await accepted_bid(wa, auction_id, 2000)
        events = public(await barrier(wb))
        assert [(e["type"], e["seq"]) for e in events] == [
            ("bid", 3),
            ("bid", 4),
            ("extended", 5),
        ]
        # A refused bid never extends.
        refused = await bid(wa, auction_id, 1)
        assert refused["code"] == "bid_too_low"
        assert public(await barrier(wb)) == []


async def test_soft_close_stops_at_max_extensions(db: asyncpg.Pool) -> None:
    a, b = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(
        db, ends_in=timedelta(seconds=30), anti_snipe_seconds=60, max_extensions=1
    )
    async with (
        running_engine(db) as server,
        server.client(a) as wa,
        server.client(b) as wb,
        server.client() as watcher,
    ):
        await subscribe(watcher, auction_id)
        first = await accepted_bid(wa, auction_id, 1000)
        second = await accepted_bid(wb, auction_id, 1100)
        events = public(await barrier(watcher))
        assert [(e["type"], e["seq"]) for e in events] == [("bid", 1), ("extended", 2), ("bid", 3)]
        assert second["endsAt"] == first["endsAt"] == events[1]["endsAt"]


# --- slow consumers -----------------------------------------------------------------------------


def _slow_consumers() -> float:
    value = REGISTRY.get_sample_value("bidserver_slow_consumer_disconnects_total")
    return 0.0 if value is None else value


@asynccontextmanager
async def _unread_client(server: RunningEngine) -> AsyncIterator[ClientConnection]:
    """A client with a tiny receive buffer, so the kernel soaks up little of what it ignores."""
    host, _, port = server.url.removeprefix("ws://").partition("/")[0].partition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    async with connect(server.url, sock=sock, max_queue=4) as ws:
        yield ws


async def _flood_until_cut(ws: ClientConnection, before: float) -> int:
    """Pings with long refs, never reading the pongs, until the server cuts the client off."""
    ping = json.dumps({"type": "ping", "ref": "x" * 128})
    sent = 0
    async with asyncio.timeout(30):  # a bound on failure, not a wait: it ends at the cut
        while _slow_consumers() == before:
            for _ in range(200):
                await ws.send(ping)
            sent += 200
            await asyncio.sleep(0)  # let the server and the watcher run
    return sent


async def test_a_client_that_does_not_read_is_cut_off_with_1013(
    db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[int] = []
    original_write = bidserver.gateway.session.Session._write

    def measured_write(self: bidserver.gateway.session.Session, data: bytes) -> None:
        original_write(self, data)
        held.append(self.conn.transport.get_write_buffer_size())

    monkeypatch.setattr(bidserver.gateway.session.Session, "_write", measured_write)
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    rate = WsRateLimit(1_000_000, 1_000_000)
    async with (
        running_engine(db, rate=rate) as server,
        server.client(a) as wa,
        server.client(b) as wb,
        server.client(w) as watcher,
        _unread_client(server) as slow,
    ):
        await subscribe(watcher, auction_id)
        await subscribe(slow, auction_id)
        before = _slow_consumers()
        flood = asyncio.create_task(_flood_until_cut(slow, before))
        price, bidders, seqs = 1000, (wa, wb), list[int]()
        while not flood.done():  # the auction and the watcher go on meanwhile
            result = await accepted_bid(bidders[len(seqs) % 2], auction_id, price)
            event = await until(watcher, "bid", 5.0)
            assert event[-1]["seq"] == result["seq"]
            seqs.append(result["seq"])
            price += 100
        assert await flood > 0
        assert _slow_consumers() == before + 1
        result = await accepted_bid(bidders[len(seqs) % 2], auction_id, price)
        assert (await until(watcher, "bid", 5.0))[-1]["seq"] == result["seq"] == len(seqs) + 1
        code, drained = await close_code(slow, 10)
        assert code == 1013
        assert any(m["type"] == "pong" for m in drained)
    assert max(held) < MIB  # never more than 1 MiB of unsent output held for any client


async def test_an_extended_auction_closes_at_its_new_end_not_the_old(db: asyncpg.Pool) -> None:
    """The close timer follows the end the extension moved it to."""
    a = await make_user(db)
    auction_id, _ = await make_auction(
        db, starting_price=1000, ends_in=timedelta(seconds=1), anti_snipe_seconds=2
    )
    async with running_engine(db) as server, server.client(a) as wa:
        await subscribe(wa, auction_id)
        result = await accepted_bid(wa, auction_id, 1000)
        new_end = from_iso(result["endsAt"])
        seen: list[Msg] = []
        async with asyncio.timeout(6):
            while not any(m["type"] == "closed" for m in seen):
                seen.append(await recv(wa, 6))
        closed_at = now_ms()
        assert [m["type"] for m in public(seen)][-1] == "closed"
        assert closed_at >= new_end  # not announced at the original end, ~1 s earlier
