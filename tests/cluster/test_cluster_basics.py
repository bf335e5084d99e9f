"""Two real nodes on one Redis and one PostgreSQL: they split the auctions, each decides
only its own, and a node stopped with SIGTERM hands its auctions to the other first."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tests.cluster.cluster import (
    bid_until_accepted,
    cluster_nodes,
    new_bid,
    owner_becomes,
    preferred,
    settled,
)
from tests.support import make_auction, make_user

LEASE_MS = 1000
TIMEOUT_S = 10.0


async def test_two_nodes_split_the_auctions_and_hand_off_on_sigterm(
    db: asyncpg.Pool, pg_dsn: str, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    auctions = [(await make_auction(db))[0] for _ in range(8)]
    users = [await make_user(db) for _ in range(2)]
    async with cluster_nodes(pg_dsn, tmp_path, redis_url, redis_prefix, 2, LEASE_MS) as nodes:
        owners = {a: preferred(a, nodes) for a in auctions}
        for auction_id, owner in owners.items():
            assert (await owner.owner_of(auction_id))[0] == owner.node_id
        mine = next(a for a in auctions if owners[a] is nodes[0])
        theirs = next(a for a in auctions if owners[a] is nodes[1])
        status, body = await nodes[0].get_json("/cluster")
        assert status == 200
        assert sorted(n["nodeId"] for n in body["nodes"]) == ["node0", "node1"]

        async with nodes[0].bidders(users[:1]) as (client,):
            local = await bid_until_accepted(client, new_bid(users[0], mine, 2000), TIMEOUT_S)
            assert local.accepted, local.reply
            elsewhere = new_bid(users[0], theirs, 2000)
            await client.send(elsewhere)
            assert elsewhere.code == "unavailable", "a non-owner never decides"

        nodes[0].terminate()
        assert await nodes[0].exit_code() == 0, nodes[0].log()
        await settled(nodes)
        await owner_becomes(nodes[1], mine, "node1")
        async with nodes[1].bidders(users[1:]) as (client,):
            moved = await bid_until_accepted(client, new_bid(users[1], mine, 3000), TIMEOUT_S)
            assert moved.accepted, moved.reply
            assert moved.reply is not None
            assert moved.reply["seq"] == 2, "the new owner loaded what the old one stored"
        epochs = await db.fetch(
            "SELECT owner_epoch FROM auction_events WHERE auction_id = $1 ORDER BY version", mine
        )
        first, second = (r["owner_epoch"] for r in epochs)
        assert second > first
