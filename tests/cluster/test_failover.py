"""Faults of CONTRACT §7 with real node processes on one Redis and one PostgreSQL.

`kill -9` of an owner under load: its auctions take bids on another node within the lease
plus one second, every acknowledged bid is stored, `seq` stays dense, retried bidIds get
their first answer from the new owner. SIGSTOP of an owner past its lease, a takeover, then
SIGCONT: whatever the old owner says after waking is backed by what PostgreSQL holds, and
the epochs along each auction's log never go down (no two owners interleaved).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
from websockets.asyncio.client import connect

from tests.bidload import (
    Load,
    by_user,
    check_acked_stored,
    check_codes,
    check_dense,
    check_only_known_stored,
    retry,
    stored_bids,
)
from tests.cluster.cluster import bid_until_accepted, cluster_nodes, new_bid, preferred
from tests.cluster.nodeproc import Node
from tests.support import make_auction, make_user, token_for

LEASE_MS = 1000
TIMEOUT_S = 15.0
KILL_AFTER_ACKS = 100


async def _auctions_owned_by(db: asyncpg.Pool, owner: Node, nodes: list[Node], n: int) -> list[int]:
    found: list[int] = []
    while len(found) < n:
        auction_id, _ = await make_auction(db)
        if preferred(auction_id, nodes) is owner:
            found.append(auction_id)
    return found


async def check_epochs_never_interleave(db: asyncpg.Pool, auction_id: int) -> list[int]:
    """Along the log, each event's writing epoch is at least the one before it."""
    rows = await db.fetch(
        "SELECT owner_epoch FROM auction_events WHERE auction_id = $1 ORDER BY version",
        auction_id,
    )
    epochs = [r["owner_epoch"] for r in rows]
    assert None not in epochs
    assert epochs == sorted(epochs), f"auction {auction_id}: epochs interleave: {epochs}"
    return epochs


def _without_ref(reply: dict[str, Any] | None) -> dict[str, Any]:
    assert reply is not None
    return {k: v for k, v in reply.items() if k != "ref"}


async def test_kill9_of_an_owner_moves_its_auctions_within_the_lease(
    db: asyncpg.Pool, pg_dsn: str, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    users = [await make_user(db) for _ in range(3)]
    late = [await make_user(db) for _ in range(2)]
    async with cluster_nodes(pg_dsn, tmp_path, redis_url, redis_prefix, 3, LEASE_MS) as nodes:
        victim, survivors = nodes[0], nodes[1:]
        auctions = await _auctions_owned_by(db, victim, nodes, 2)
        load = Load(auctions, pace_s=0.005)
        loop = asyncio.get_running_loop()
        async with victim.bidders(users) as clients:
            bidders = [asyncio.create_task(load.bidder(c, i)) for i, c in enumerate(clients)]
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    await load.until(lambda: len(load.accepted()) >= KILL_AFTER_ACKS)
                victim.kill9()
                killed_at = loop.time()
                async with asyncio.timeout(TIMEOUT_S):
                    await asyncio.gather(*bidders)
            finally:
                load.stop.set()
        assert await victim.exit_code() == -9

        async def first_bid_elsewhere(auction_id: int, user: int) -> float:
            owner = preferred(auction_id, survivors)
            async with owner.bidders([user]) as (client,):
                bid = new_bid(user, auction_id, load.next_amount(auction_id) * 10)
                got = await bid_until_accepted(client, bid, TIMEOUT_S, pace_s=0.01)
                assert got.accepted, got.reply
                assert got.answered_at is not None
                return got.answered_at - killed_at

        took = await asyncio.gather(
            *(first_bid_elsewhere(a, u) for a, u in zip(auctions, late, strict=True))
        )
        assert max(took) <= LEASE_MS / 1000 + 1.0, f"failover took {took}"

        stored = await stored_bids(db, auctions)
        acked = load.accepted()
        assert check_acked_stored(load.outcomes, stored) == len(acked) >= KILL_AFTER_ACKS
        check_only_known_stored(load.outcomes, stored)
        check_codes(load.outcomes)
        for auction_id in auctions:
            await check_dense(db, auction_id)
            assert len(set(await check_epochs_never_interleave(db, auction_id))) == 2

        # A retried bidId gets its first answer from the new owner.
        for auction_id in auctions:
            owner = preferred(auction_id, survivors)
            mine = [o for o in acked if o.auction_id == auction_id][-5:]
            async with owner.bidders(users) as clients, asyncio.timeout(TIMEOUT_S):
                again = await retry(by_user(clients), mine)
            for first, second in zip(mine, again, strict=True):
                assert _without_ref(second.reply) == _without_ref(first.reply)


async def _watch(node: Node, auction_id: int, user: int, seen: list[dict[str, Any]]) -> None:
    """Subscribe on `node` and keep every message until the connection ends."""
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    async with connect(node.url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "subscribe", "auctionId": auction_id, "ref": "w"}))
        async for raw in ws:
            seen.append(json.loads(raw))


async def test_a_paused_owner_says_nothing_unstored_after_waking(
    db: asyncpg.Pool, pg_dsn: str, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    x, y, z, watcher = [await make_user(db) for _ in range(4)]
    async with cluster_nodes(pg_dsn, tmp_path, redis_url, redis_prefix, 2, LEASE_MS) as nodes:
        old, new = nodes
        (auction_id,) = await _auctions_owned_by(db, old, nodes, 1)
        seen: list[dict[str, Any]] = []
        watching = asyncio.create_task(_watch(old, auction_id, watcher, seen))
        async with old.bidders([x]) as (on_old,), new.bidders([y, z]) as (on_new_y, on_new_z):
            first = await bid_until_accepted(on_old, new_bid(x, auction_id, 2000), TIMEOUT_S)
            assert first.accepted, first.reply

            old.pause()
            during = new_bid(x, auction_id, 50_000)
            pending = asyncio.create_task(on_old.send(during))  # waits in the paused socket
            taken = await bid_until_accepted(on_new_y, new_bid(y, auction_id, 3000), TIMEOUT_S)
            assert taken.accepted, taken.reply
            more = await bid_until_accepted(on_new_z, new_bid(z, auction_id, 4000), TIMEOUT_S)
            assert more.accepted, more.reply
            old.resume()

            async with asyncio.timeout(TIMEOUT_S):
                await pending
            assert during.code in ("unavailable", "accepted"), during.reply
            stored = await stored_bids(db, [auction_id])
            outcomes = [first, taken, more, during]
            check_acked_stored(outcomes, stored)
            check_only_known_stored(outcomes, stored)
            if during.accepted:  # only if the old node legitimately took the auction back
                assert during.reply is not None
                assert more.reply is not None
                assert during.reply["seq"] > more.reply["seq"]
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)

    await check_dense(db, auction_id)
    epochs = await check_epochs_never_interleave(db, auction_id)
    assert len(set(epochs)) >= 2
    rows = await db.fetch(
        "SELECT seq, payload FROM auction_events WHERE auction_id = $1 AND seq IS NOT NULL",
        auction_id,
    )
    payloads = {r["seq"]: _decoded(r["payload"]) for r in rows}
    events = [m for m in seen if isinstance(m.get("seq"), int) and m.get("type") != "subscribed"]
    assert [e["seq"] for e in events][:1] == [1], "the watcher saw the first bid"
    for event in events:
        assert payloads.get(event["seq"]) == event, f"broadcast but not stored: {event}"


def _decoded(payload: object) -> object:
    return json.loads(payload) if isinstance(payload, str | bytes) else payload
