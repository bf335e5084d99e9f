"""A real node dies under load (`kill -9`) or is told to stop (SIGTERM): no ack is ever lost.

Durable mode acknowledges a bid only after its transaction commits, so whatever a bidder was
told must be in the database after any crash, numbered densely, and a restarted node must
give the same answer to a retried bidId. SIGTERM must drain: finish and store what was
accepted, close sockets with 1001 and exit 0 within 30 s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

from tests.bidload import (
    BidClient,
    Load,
    Outcome,
    by_user,
    check_acked_stored,
    check_codes,
    check_dense,
    check_only_known_stored,
    check_retries,
    retry,
    stored_bids,
)
from tests.cluster.nodeproc import running_node
from tests.support import make_auction, make_user

BIDDERS = 4
AUCTIONS = 2
LOAD_TIMEOUT_S = 15.0
RETRY_TIMEOUT_S = 15.0
KILL_AFTER_ACKS = 300
TERM_AFTER_ACKS = 60


def _without_ref(reply: dict[str, Any] | None) -> dict[str, Any]:
    assert reply is not None
    return {k: v for k, v in reply.items() if k != "ref"}


async def _setup(db: asyncpg.Pool) -> tuple[list[int], list[int]]:
    auctions = [(await make_auction(db))[0] for _ in range(AUCTIONS)]
    users = [await make_user(db) for _ in range(BIDDERS)]
    return auctions, users


async def _run_until_killed(
    load: Load, clients: list[BidClient], kill: Callable[[], None], acks: int
) -> None:
    """Bid from every client; once `acks` bids are acked, call `kill` while bids fly."""
    bidders = [asyncio.create_task(load.bidder(c, i)) for i, c in enumerate(clients)]
    try:
        async with asyncio.timeout(LOAD_TIMEOUT_S):
            await load.until(lambda: len(load.accepted()) >= acks)
        kill()
        async with asyncio.timeout(LOAD_TIMEOUT_S):
            await asyncio.gather(*bidders)  # each loop ends when its socket goes
    finally:
        load.stop.set()  # ends the loops if the test failed before the kill
        async with asyncio.timeout(LOAD_TIMEOUT_S):
            await asyncio.gather(*bidders)


async def _check_new_bid_continues(
    db: asyncpg.Pool, load: Load, clients: list[BidClient], auction_id: int
) -> None:
    """The next bid on a restarted node is numbered right after the stored ones."""
    last_seq = await check_dense(db, auction_id)
    leader = await db.fetchval("SELECT leader_id FROM auctions WHERE id = $1", auction_id)
    client = next(c for c in clients if c.user_id != leader)
    loop = asyncio.get_running_loop()
    amount = load.next_amount(auction_id) * 10
    outcome = Outcome(client.user_id, auction_id, str(uuid.uuid4()), amount, loop.time())
    async with asyncio.timeout(RETRY_TIMEOUT_S):
        await client.send(outcome)
    assert outcome.accepted, outcome.reply
    assert outcome.reply is not None
    assert outcome.reply["seq"] == last_seq + 1


async def test_kill9_loses_no_ack(db: asyncpg.Pool, pg_dsn: str, tmp_path: Path) -> None:
    auctions, users = await _setup(db)
    load = Load(auctions, pace_s=0.002)
    async with running_node(pg_dsn, tmp_path / "first") as node:
        async with node.bidders(users) as clients:
            await _run_until_killed(load, clients, node.kill9, KILL_AFTER_ACKS)
        assert await node.exit_code() == -9
        assert all(c.duplicates == [] for c in clients), "a bid was answered twice"

    before = await stored_bids(db, auctions)
    acked = [o for o in load.outcomes if o.accepted]
    assert check_acked_stored(load.outcomes, before) == len(acked) >= KILL_AFTER_ACKS
    check_only_known_stored(load.outcomes, before)
    check_codes(load.outcomes)
    for auction_id in auctions:
        await check_dense(db, auction_id)
    unknown = [o for o in load.outcomes if o.code in (None, "unavailable")]

    async with running_node(pg_dsn, tmp_path / "second") as node, node.bidders(users) as clients:
        async with asyncio.timeout(RETRY_TIMEOUT_S):
            repeated = await retry(by_user(clients), acked)
            retried = await retry(by_user(clients), unknown)
        for first, again in zip(acked, repeated, strict=True):
            assert _without_ref(again.reply) == _without_ref(first.reply)
        after = await stored_bids(db, auctions)
        assert len(after) >= len(before)
        check_retries(retried, before, after)
        for auction_id in auctions:
            await _check_new_bid_continues(db, load, clients, auction_id)
        assert all(c.duplicates == [] for c in clients), "a retried bid was answered twice"


async def test_sigterm_drains_and_exits_cleanly(
    db: asyncpg.Pool, pg_dsn: str, tmp_path: Path
) -> None:
    auctions, users = await _setup(db)
    load = Load(auctions, pace_s=0.02)  # light load
    async with running_node(pg_dsn, tmp_path / "node") as node:
        async with node.bidders(users) as clients:
            await _run_until_killed(load, clients, node.terminate, TERM_AFTER_ACKS)
            assert await node.exit_code() == 0, node.log()
        for client in clients:
            assert client.close_code == 1001, (client.close_code, node.log())
            assert client.duplicates == []

    stored = await stored_bids(db, auctions)
    assert check_acked_stored(load.outcomes, stored) >= TERM_AFTER_ACKS
    check_only_known_stored(load.outcomes, stored)
    check_codes(load.outcomes)
    for auction_id in auctions:
        await check_dense(db, auction_id)
