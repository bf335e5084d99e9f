"""Issue 9, defect 1, as it was seen: memory ack mode, an outage longer than the idle time.

Bidder A's bid is acknowledged at once while the database is away; the registry then looks
for idle actors. It used to drop A's actor (memory mode never has pending releases), so
once the database returned a fresh actor loaded the stale row and told bidder B that B led
at the same price, and the two actors' writes jammed the node's persister on a primary-key
violation for ever (the drain then timed out). Now the actor stays until its events are
stored, B is decided against A's bid, and the node drains.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from bidserver.engine import registry as registry_module
from bidserver.engine.registry import Registry
from tests.bidload import Outcome, check_dense, stored_bids
from tests.integration.test_faults_db_outage import bid_clients, proxied_pool
from tests.support import make_auction, make_user, running_engine

TIMEOUT_S = 20.0


async def test_an_acked_bid_survives_an_outage_longer_than_the_idle_time(
    db: asyncpg.Pool, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    users = [await make_user(db) for _ in range(3)]
    loop = asyncio.get_running_loop()
    async with (
        asyncio.timeout(TIMEOUT_S),
        proxied_pool(pg_dsn) as (proxy, pool),
        running_engine(pool, durable=False) as server,
        bid_clients(server, users) as [a, b, c],
    ):
        opening = Outcome(c.user_id, auction_id, str(uuid.uuid4()), 1000, loop.time())
        await c.send(opening)
        assert opening.accepted
        await server.engine.persister.flush()

        proxy.pause()
        try:
            acked = Outcome(a.user_id, auction_id, str(uuid.uuid4()), 1050, loop.time())
            await a.send(acked)
            assert acked.accepted, "memory mode acknowledges at once"
            registry = server.engine.registry
            assert isinstance(registry, Registry)
            with monkeypatch.context() as patch:
                patch.setattr(registry_module, "IDLE_AFTER_S", -1.0)  # the outage outlasts it
                await registry._passivate_idle()
            assert registry.live(auction_id) is not None, "dropped with an acked bid unstored"
        finally:
            proxy.resume()

        same = Outcome(b.user_id, auction_id, str(uuid.uuid4()), 1050, loop.time())
        await b.send(same)
        assert same.reply is not None
        assert same.reply.get("code") == "bid_too_low", "B was told it leads at A's price"
        await server.engine.persister.flush()  # not jammed
    stored = await stored_bids(db, [auction_id])
    assert stored[acked.bid_id].seq == 2
    assert same.bid_id not in stored
    await check_dense(db, auction_id)
