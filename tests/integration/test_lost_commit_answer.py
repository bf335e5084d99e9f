"""Issue 9, defect 2: a write whose commit answer was lost, yet which committed, is shown to
watchers at once — the actor reloads on the failure itself, not on the next command, and
publishes what the stored log holds beyond what it had released.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.bidload import Outcome, check_dense, stored_bids
from tests.integration.test_faults_db_outage import bid_clients, proxied_pool
from tests.support import make_auction, make_user, next_of_type, request, running_engine

TIMEOUT_S = 10.0


async def test_a_committed_write_reported_failed_reaches_watchers_without_another_bid(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    users = [await make_user(db) for _ in range(3)]
    loop = asyncio.get_running_loop()
    async with (
        asyncio.timeout(TIMEOUT_S),
        proxied_pool(pg_dsn) as (proxy, pool),
        running_engine(pool) as server,
        bid_clients(server, users[:2]) as [leader, challenger],
        server.client(users[2]) as watcher,
    ):
        sub = await request(watcher, {"type": "subscribe", "auctionId": auction_id, "ref": 0})
        assert sub["type"] == "subscribed"
        first = Outcome(leader.user_id, auction_id, str(uuid.uuid4()), 2000, loop.time())
        await leader.send(first)
        assert first.accepted
        assert (await next_of_type(watcher, "bid"))["seq"] == 1

        proxy.cut_after_commit(b"SELECT 1")  # the persister's append answers `SELECT 1`
        lost = Outcome(challenger.user_id, auction_id, str(uuid.uuid4()), 3000, loop.time())
        await challenger.send(lost)
        assert proxy.commits_cut == 1
        assert lost.code == "unavailable", lost.reply

        event = await next_of_type(watcher, "bid")  # no other command is sent
        assert (event["seq"], event["amount"]) == (2, 3000)
    stored = await stored_bids(db, [auction_id])
    assert stored[lost.bid_id].seq == 2
    await check_dense(db, auction_id)
