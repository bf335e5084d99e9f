"""The cluster's Redis keys and scripts: membership with heartbeats, per-shard leases.

Keys, all under `{cluster name}:`: `nodes` (a set of member ids), `node:{id}` (a member's
JSON card, expiring `lease_ms` after its last heartbeat) and `shard:{n}` (the id of the
member holding shard n, expiring `lease_ms` after its last renewal). Scripts compare before
they extend or delete, so a member never touches a lease it does not hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from bidserver.cluster.placement import NodeInfo
from bidserver.cluster.shards import SHARDS

# For each shard key: take it if free, extend it if ours; 1 when held by us afterwards.
_CLAIM = """
local held = {}
for i, key in ipairs(KEYS) do
    if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
        held[i] = 1
    elseif redis.call('GET', key) == ARGV[1] then
        redis.call('PEXPIRE', key, ARGV[2])
        held[i] = 1
    else
        held[i] = 0
    end
end
return held
"""

_RELEASE = """
local n = 0
for _, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[1] then
        redis.call('DEL', key)
        n = n + 1
    end
end
return n
"""


@dataclass(frozen=True, slots=True)
class View:
    """Members and shard holders as read from Redis in one round trip."""

    members: dict[str, NodeInfo]
    holders: dict[int, str]


class ClusterKeys:
    def __init__(self, redis: Redis, cluster_name: str, node_id: str, lease_ms: int) -> None:
        self._redis = redis
        self._prefix = f"{cluster_name}:"
        self.node_id = node_id
        self._lease_ms = lease_ms
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    def shard_key(self, shard: int) -> str:
        return f"{self._prefix}shard:{shard}"

    def _node_key(self, node_id: str) -> str:
        return f"{self._prefix}node:{node_id}"

    async def heartbeat_and_claim(self, card: NodeInfo, shards: Iterable[int]) -> set[int]:
        """Refresh our card and membership, then take or extend each shard; the held ones."""
        wanted = sorted(shards)
        body = json.dumps({"address": card.address, "auctions": card.auctions, "ready": card.ready})
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._node_key(self.node_id), body, px=self._lease_ms)
        pipe.sadd(f"{self._prefix}nodes", self.node_id)
        if wanted:
            await self._claim(
                keys=[self.shard_key(s) for s in wanted],
                args=[self.node_id, self._lease_ms],
                client=pipe,
            )
        results = await pipe.execute()
        if not wanted:
            return set()
        return {s for s, ok in zip(wanted, results[2], strict=True) if ok}

    async def view(self) -> View:
        ids = sorted(_text(m) for m in await self._redis.smembers(f"{self._prefix}nodes"))
        pipe = self._redis.pipeline(transaction=False)
        if ids:
            pipe.mget([self._node_key(i) for i in ids])
        pipe.mget([self.shard_key(s) for s in range(SHARDS)])
        results = await pipe.execute()
        cards = results[0] if ids else []
        members = {i: _card(i, raw) for i, raw in zip(ids, cards, strict=True) if raw is not None}
        gone = [i for i in ids if i not in members]
        if gone:
            await self._redis.srem(f"{self._prefix}nodes", *gone)
        holders = {s: _text(raw) for s, raw in enumerate(results[-1]) if raw is not None}
        return View(members, holders)

    async def release(self, shards: Iterable[int]) -> int:
        keys = [self.shard_key(s) for s in shards]
        if not keys:
            return 0
        released: int = await self._release(keys=keys, args=[self.node_id])
        return released

    async def leave(self) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self._node_key(self.node_id))
        pipe.srem(f"{self._prefix}nodes", self.node_id)
        await pipe.execute()


def _card(node_id: str, raw: bytes) -> NodeInfo:
    try:
        data = json.loads(raw)
        return NodeInfo(node_id, str(data["address"]), int(data["auctions"]), bool(data["ready"]))
    except (ValueError, KeyError, TypeError):
        return NodeInfo(node_id, "", 0, False)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
