"""`GET /cluster` and `GET /cluster/auctions/{id}` (CONTRACT §7, admin only).

Members come from the placement (Redis in a cluster, this node alone otherwise); an
auction's epoch comes from PostgreSQL, where the fence keeps it.
"""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from bidserver.errors import NotFound, Unavailable
from httpapi.keys import PLACEMENT, POOL
from httpapi.security import require_role
from httpapi.validation import path_id
from storage.auctions import owner_epoch


async def cluster(request: web.Request) -> web.Response:
    require_role(request, "admin")
    try:
        nodes = await request.app[PLACEMENT].nodes()
    except (RedisError, OSError) as exc:
        raise Unavailable("the cluster's membership cannot be read now; retry") from exc
    body = [
        {"nodeId": n.node_id, "address": n.address, "auctions": n.auctions, "ready": n.ready}
        for n in nodes
    ]
    return web.json_response({"nodes": body})


async def cluster_auction(request: web.Request) -> web.Response:
    require_role(request, "admin")
    auction_id = path_id(request)
    epoch = await owner_epoch(request.app[POOL], auction_id)
    if epoch is None:
        raise NotFound(f"auction {auction_id} does not exist")
    owner = request.app[PLACEMENT].owner_of(auction_id)
    return web.json_response({"auctionId": auction_id, "ownerNodeId": owner, "epoch": epoch})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cluster", cluster)
    app.router.add_get("/cluster/auctions/{id}", cluster_auction)
