"""Several real nodes forming one cluster on the test's own Redis key prefix.

`cluster_nodes` starts them together and waits until each is ready (joined: holding the
shards it should); `owner_node` asks the cluster which node decides an auction. Clients
connect to the owning node, since a non-owner answers `unavailable` until commands are
routed between nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from bidserver.cluster.shards import rendezvous, shard_of
from tests.bidload import BidClient, Outcome
from tests.cluster.nodeproc import Node, cluster_env, start_node, stop, wait_ready

POLL_S = 0.05  # polling the REST probe of a process, not synchronisation


@contextlib.asynccontextmanager
async def cluster_nodes(
    dsn: str, data_dir: Path, redis_url: str, prefix: str, count: int, lease_ms: int
) -> AsyncIterator[list[Node]]:
    cluster = f"{prefix}{secrets.token_hex(4)}"
    nodes: list[Node] = []
    try:
        for i in range(count):
            env = cluster_env(redis_url, cluster, f"node{i}", lease_ms)
            nodes.append(await start_node(dsn, data_dir / f"node{i}", env))
        await asyncio.gather(*(wait_ready(n) for n in nodes))
        await settled(nodes)
        yield nodes
    finally:
        await asyncio.gather(*(stop(n) for n in nodes))


async def settled(nodes: list[Node], timeout_s: float = 15.0) -> None:
    """Every live node is listed, ready, by every live node."""
    live = [n for n in nodes if n.process.returncode is None]
    want = {n.node_id for n in live}
    async with asyncio.timeout(timeout_s):
        while True:
            views = [await n.get_json("/cluster") for n in live]
            if all(
                status == 200 and {m["nodeId"] for m in body["nodes"] if m["ready"]} == want
                for status, body in views
            ):
                return
            await asyncio.sleep(POLL_S)


async def owner_becomes(node: Node, auction_id: int, owner: str, timeout_s: float = 15.0) -> int:
    """Poll `GET /cluster/auctions/{id}` on `node` until `owner` decides it; its epoch."""
    async with asyncio.timeout(timeout_s):
        while True:
            now, epoch = await node.owner_of(auction_id)
            if now == owner:
                return epoch
            await asyncio.sleep(POLL_S)


def preferred(auction_id: int, nodes: list[Node]) -> Node:
    """The node rendezvous hashing gives the auction's shard among these nodes."""
    winner = rendezvous(shard_of(auction_id), [n.node_id for n in nodes])
    return next(n for n in nodes if n.node_id == winner)


async def bid_until_accepted(
    client: BidClient, outcome: Outcome, timeout_s: float, pace_s: float = 0.02
) -> Outcome:
    """Send the same bid (same bidId) until it is decided; `unavailable` means retry."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        while True:
            attempt = Outcome(
                outcome.user_id, outcome.auction_id, outcome.bid_id, outcome.amount,
                loop.time(), attempt=outcome.attempt,
            )  # fmt: skip
            outcome.attempt += 1
            await client.send(attempt)
            if attempt.code != "unavailable":
                return attempt
            await asyncio.sleep(pace_s)  # retry pacing, not synchronisation


def new_bid(user_id: int, auction_id: int, amount: int) -> Outcome:
    return Outcome(user_id, auction_id, str(uuid.uuid4()), amount, 0.0)
