"""The database goes away for 5 s under load: bids fail safely, then service comes back alone.

The engine's pool reaches PostgreSQL through a proxy that the test can cut. While it is cut
no bid may be acknowledged (durable mode acks only committed bids) and every bid must get an
answer the client can act on (`unavailable`: retry with the same bidId). When it returns,
the engine must recover by itself, and the log must hold exactly what clients were told.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage.pool import create_pool
from tests.bidload import (
    RULE_CODES,
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
from tests.support import (
    RunningEngine,
    make_auction,
    make_user,
    next_of_type,
    request,
    running_engine,
)
from tests.tcpproxy import TcpProxy, target_of

OUTAGE_S = 5.0  # the length of the outage is what this test is about
WARM_UP_S = 10.0
RECOVERY_S = 10.0  # from the database's return to new bids being accepted again
BIDDERS = 4
AUCTIONS = 2
STARTING = 1000
ANSWER_BOUND_S = 3.0  # what a bidder may fairly wait for any answer, the DB up or not


@contextlib.asynccontextmanager
async def proxied_pool(dsn: str) -> AsyncIterator[tuple[TcpProxy, asyncpg.Pool]]:
    proxy = await TcpProxy(target_of(dsn)).start()
    try:
        pool = await create_pool(proxy.dsn(dsn), min_size=1, max_size=10)
        try:
            yield proxy, pool
        finally:
            proxy.resume()
            async with asyncio.timeout(10):
                await pool.close()
    finally:
        await proxy.close()


@contextlib.asynccontextmanager
async def bid_clients(server: RunningEngine, users: list[int]) -> AsyncIterator[list[BidClient]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            BidClient(await stack.enter_async_context(server.client(user)), user) for user in users
        ]
        yield clients
    for client in clients:
        await client.closed()


async def _outage(load: Load, proxy: TcpProxy, auctions: list[int]) -> tuple[float, float, float]:
    """Warm up, cut the database for OUTAGE_S, wait for recovery; returns the three times."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(WARM_UP_S):
        await load.until(lambda: all(len(load.accepted(a)) >= 5 for a in auctions))
    paused_at = loop.time()
    proxy.pause()
    try:
        async with asyncio.timeout(OUTAGE_S):
            await load.until(lambda: _refused_since(load, paused_at) > 0)
        await asyncio.sleep(max(0.0, paused_at + OUTAGE_S - loop.time()))  # the outage itself
    finally:
        resumed_at = loop.time()
        proxy.resume()  # also when failing, so the engine can close
    async with asyncio.timeout(RECOVERY_S):
        await load.until(lambda: all(len(load.accepted(a, resumed_at)) >= 5 for a in auctions))
    return paused_at, resumed_at, loop.time()


def _check_outage_answers(load: Load, paused_at: float, resumed_at: float) -> None:
    """Bids sent while the database was away were refused, never acked, all answered."""
    during = [
        o
        for o in load.outcomes
        if o.sent_at >= paused_at and o.answered_at is not None and o.answered_at < resumed_at
    ]
    assert during, "no bid was answered during the outage"
    assert not [o for o in during if o.accepted], "a bid was acked while the database was away"
    codes = {o.code for o in during}
    assert "unavailable" in codes
    assert codes <= {"unavailable", *RULE_CODES}, codes
    assert all(o.reply is not None for o in load.outcomes), "a bid got no answer"


async def test_db_outage_refuses_safely_and_recovers(db: asyncpg.Pool, pg_dsn: str) -> None:
    auctions = [(await make_auction(db, starting_price=STARTING))[0] for _ in range(AUCTIONS)]
    users = [await make_user(db) for _ in range(BIDDERS)]
    async with (
        proxied_pool(pg_dsn) as (proxy, pool),
        running_engine(pool) as server,
        bid_clients(server, users) as clients,
    ):
        load = Load(auctions)
        bidders = [asyncio.create_task(load.bidder(c, i)) for i, c in enumerate(clients)]
        try:
            paused_at, resumed_at, recovered_at = await _outage(load, proxy, auctions)
        finally:
            load.stop.set()
            async with asyncio.timeout(10):
                await asyncio.gather(*bidders)
        _check_outage_answers(load, paused_at, resumed_at)
        assert recovered_at - resumed_at < RECOVERY_S
        assert proxy.refused > 0, "the engine never tried to reconnect during the outage"
        for client in clients:
            assert client.duplicates == [], "a bid was answered twice"

        before = await stored_bids(db, auctions)
        assert check_acked_stored(load.outcomes, before) >= 20
        check_only_known_stored(load.outcomes, before)
        check_codes(load.outcomes)
        for auction_id in auctions:
            await check_dense(db, auction_id)

        unknown = load.with_code("unavailable")
        async with asyncio.timeout(15):
            again = await retry(by_user(clients), unknown)
        after = await stored_bids(db, auctions)
        kinds = check_retries(again, before, after)
        assert sum(kinds.values()) == len(unknown)
        for auction_id in auctions:
            await check_dense(db, auction_id)
        for client in clients:
            assert client.duplicates == [], "a retried bid was answered twice"


async def test_black_holed_database_still_answers_in_bounded_time(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    auction_id, _ = await make_auction(db, starting_price=STARTING)
    users = [await make_user(db), await make_user(db)]
    loop = asyncio.get_running_loop()
    async with (
        proxied_pool(pg_dsn) as (proxy, pool),
        running_engine(pool) as server,
        bid_clients(server, users) as [leader, challenger],
    ):
        first = Outcome(leader.user_id, auction_id, str(uuid.uuid4()), 2000, loop.time())
        async with asyncio.timeout(ANSWER_BOUND_S):
            await leader.send(first)
        assert first.accepted
        proxy.pause(hold=True)  # new connections hang, as behind a dropped route
        try:
            during = Outcome(challenger.user_id, auction_id, str(uuid.uuid4()), 3000, loop.time())
            async with asyncio.timeout(ANSWER_BOUND_S):
                await challenger.send(during)
        finally:
            proxy.resume()
        assert during.code == "unavailable", during.reply


async def test_commit_whose_answer_is_lost(db: asyncpg.Pool, pg_dsn: str) -> None:
    """The write commits but the connection dies before the answer: `unavailable`, yet stored.

    The retry must get the stored answer, and watchers must still get the committed event
    in seq order (no gap), live or on resuming from a seq, though it was never released
    before the failure.
    """
    auction_id, _ = await make_auction(db, starting_price=STARTING)
    users = [await make_user(db) for _ in range(3)]
    loop = asyncio.get_running_loop()
    async with (
        proxied_pool(pg_dsn) as (proxy, pool),
        running_engine(pool) as server,
        bid_clients(server, users[:2]) as [leader, challenger],
        server.client(users[2]) as watcher,
        asyncio.timeout(2 * RECOVERY_S),
    ):
        sub = await request(watcher, {"type": "subscribe", "auctionId": auction_id, "ref": 0})
        assert sub["type"] == "subscribed"
        first = Outcome(leader.user_id, auction_id, str(uuid.uuid4()), 2000, loop.time())
        await leader.send(first)
        assert first.accepted

        # The persister appends in one statement; one bid's append answers `SELECT 1`
        # (the close scheduler's query, the only other traffic here, finds nothing due).
        proxy.cut_after_commit(b"SELECT 1")
        lost = Outcome(challenger.user_id, auction_id, str(uuid.uuid4()), 3000, loop.time())
        await challenger.send(lost)
        assert proxy.commits_cut == 1
        assert lost.code == "unavailable", lost.reply
        stored = await stored_bids(db, [auction_id])
        assert stored[lost.bid_id].seq == 2, "the commit did happen"

        (again,) = await retry(by_user([challenger]), [lost])
        assert again.accepted, again.reply
        assert again.reply is not None
        assert (again.reply["seq"], again.reply["currentPrice"]) == (2, 3000)
        third = Outcome(leader.user_id, auction_id, str(uuid.uuid4()), 4000, loop.time())
        await leader.send(third)
        assert third.accepted
        assert third.reply is not None

        seqs: list[int] = []
        while not seqs or seqs[-1] < third.reply["seq"]:
            seqs.append((await next_of_type(watcher, "bid"))["seq"])
        assert seqs == [1, 2, 3], "a committed event was never broadcast"
        async with server.client() as late:
            resume = {"type": "subscribe", "auctionId": auction_id, "sinceSeq": 1, "ref": 1}
            sub = await request(late, resume)
            assert (sub["snapshot"]["seq"], sub["recovered"]) == (3, True)
            assert [(await next_of_type(late, "bid"))["seq"] for _ in range(2)] == [2, 3]
    await check_dense(db, auction_id)


def _refused_since(load: Load, since: float) -> int:
    return sum(1 for o in load.with_code("unavailable") if o.sent_at >= since)


@pytest.mark.parametrize("dsn", ["postgresql://u:p@db.example:6543/x?sslmode=disable"])
def test_proxy_target_of_tcp_dsn(dsn: str) -> None:
    target = target_of(dsn)
    assert (target.host, target.port, target.socket_path) == ("db.example", 6543, None)


def test_proxy_target_of_socket_dsn() -> None:
    target = target_of("postgresql://postgres:@/bidserver?host=/tmp/pg.sock.dir")
    assert target.socket_path == "/tmp/pg.sock.dir/.s.PGSQL.5432"
    proxied = TcpProxy(target)
    proxied.port = 4321
    assert proxied.dsn("postgresql://postgres:@/bidserver?host=/tmp/x") == (
        "postgresql://postgres:@127.0.0.1:4321/bidserver"
    )
