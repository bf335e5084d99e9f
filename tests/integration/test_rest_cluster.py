"""`GET /cluster` and `GET /cluster/auctions/{id}` on a single node (CONTRACT §7).

Without Redis the node is a cluster of one: it lists itself and decides every auction.
Both are for admins only.
"""

from __future__ import annotations

import asyncpg

from tests.support import make_auction, make_user, running_api


async def test_a_single_node_lists_itself_and_owns_every_auction(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    auction_id, _ = await make_auction(db)
    admin, bidder = await make_user(db, "admin"), await make_user(db)
    async with running_api(db, pg_dsn) as api:
        async with api.http.get(f"{api.base}/cluster", headers=api.auth(admin, "admin")) as got:
            assert got.status == 200
            nodes = (await got.json())["nodes"]
        assert len(nodes) == 1
        assert set(nodes[0]) == {"nodeId", "address", "auctions", "ready"}
        assert nodes[0]["ready"] is True
        assert nodes[0]["address"] == "127.0.0.1:8766"
        url = f"{api.base}/cluster/auctions/{auction_id}"
        async with api.http.get(url, headers=api.auth(admin, "admin")) as got:
            assert got.status == 200
            assert await got.json() == {
                "auctionId": auction_id,
                "ownerNodeId": nodes[0]["nodeId"],
                "epoch": 0,
            }
        async with api.http.get(url, headers=api.auth(bidder)) as got:
            assert got.status == 403
        async with api.http.get(f"{api.base}/cluster") as got:
            assert got.status == 401
        missing = f"{api.base}/cluster/auctions/999999999"
        async with api.http.get(missing, headers=api.auth(admin, "admin")) as got:
            assert got.status == 404
