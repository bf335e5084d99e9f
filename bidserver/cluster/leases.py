"""`LeasePlacement`: this node's membership and shard leases in Redis, and what follows.

One loop, every quarter lease (faster while a shard it should hold is still taken): read
the members and shard holders, work out by rendezvous which shards this node should hold,
then in one pipeline refresh its card and take or extend those leases (plus any still being
handed off). A lease counts from when that pipeline was *sent* (`lease.py`); a timer and
every `decides` check stop the engine deciding a shard once that is past. A shard another
member now wins is handed off: the engine stops taking its commands and flushes, then the
lease is deleted (compare-and-delete) so the winner takes it on its next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bidserver import metrics
from bidserver.cluster.lease import LeaseTiming
from bidserver.cluster.placement import NodeInfo, ShardHolder
from bidserver.cluster.redisops import ClusterKeys, View
from bidserver.cluster.shards import rendezvous, shard_of, shards_for

log = logging.getLogger("bidserver.cluster")

CATCH_UP_S = 0.1  # the next pass while a shard this node should hold is still elsewhere
_FAILURES = (RedisError, OSError, TimeoutError)


class LeasePlacement:
    def __init__(
        self,
        redis: Redis,
        *,
        node_id: str,
        cluster_name: str,
        address: tuple[str, int],
        lease_ms: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node_id = node_id
        self.timing = LeaseTiming(lease_ms)
        self._redis = redis
        self._keys = ClusterKeys(redis, cluster_name, node_id, lease_ms)
        self._address = address
        self._clock = clock
        self._holder: ShardHolder | None = None
        self._held: dict[int, float] = {}  # shard -> deadline (monotonic)
        self._releasing: set[int] = set()
        self._view = View({}, {})
        self._want: set[int] = set()
        self._joined = False
        self._leaving = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._handoffs: set[asyncio.Task[None]] = set()

    # --- the Placement port ------------------------------------------------------------------

    def owner_of(self, auction_id: int) -> str | None:
        shard = shard_of(auction_id)
        if self._decides_shard(shard):
            return self.node_id
        holder = self._view.holders.get(shard)
        if holder is None or holder == self.node_id or shard in self._releasing:
            return None  # free, moving, or ours but no longer surely held
        return holder

    def address_of(self, node_id: str) -> tuple[str, int] | None:
        if node_id == self.node_id:
            return self._address
        card = self._view.members.get(node_id)
        if card is None or not card.address:
            return None
        host, _, port = card.address.rpartition(":")
        return (host, int(port)) if port.isdigit() else None

    async def wait_owner(self, auction_id: int, timeout: float) -> str | None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while (owner := self.owner_of(auction_id)) is None:
            left = until - loop.time()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._changed.wait()
        return owner

    def decides(self, auction_id: int) -> bool:
        return self._decides_shard(shard_of(auction_id))

    def joined(self) -> bool:
        return self._joined

    async def nodes(self) -> list[NodeInfo]:
        view = await self._keys.view()
        return [view.members[n] for n in sorted(view.members)]

    # --- what the node wires --------------------------------------------------------------

    def bind(self, holder: ShardHolder) -> None:
        self._holder = holder

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-leases")

    def held_shards(self) -> set[int]:
        return set(self._held)

    def _decides_shard(self, shard: int) -> bool:
        deadline = self._held.get(shard)
        return deadline is not None and shard not in self._releasing and self._clock() < deadline

    # --- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._leaving:
            pause = self.timing.renew_every_s
            try:
                async with asyncio.timeout(self.timing.redis_timeout_s * 2):
                    if not await self.tick():
                        pause = min(pause, CATCH_UP_S)
            except _FAILURES as exc:
                metrics.CLUSTER_RENEW_FAILURES.inc()
                log.warning("cluster pass failed", extra={"error": repr(exc)})
            await asyncio.sleep(pause)  # the renewal period, not synchronisation

    async def tick(self) -> bool:
        """One pass; True when this node holds every shard it should."""
        view = await self._keys.view()
        members = set(view.members) | {self.node_id}
        self._want = shards_for(self.node_id, members)
        keep = self._want | set(self._held)  # what goes keeps its lease until handed off
        sent = self._clock()
        card = NodeInfo(self.node_id, self._card_address(), self._live_count(), self._joined)
        held = await self._keys.heartbeat_and_claim(card, keep)
        metrics.LEASE_RENEW_SECONDS.observe(self._clock() - sent)
        self._renewed(held, sent)
        self._view = View(view.members, self._holders_after(view.holders, held))
        self._hand_off(set(self._held) - self._want - self._releasing)
        complete = self._want <= set(self._held)
        if complete and not self._joined:
            self._joined = True
            log.info("joined the cluster", extra={"shards": len(self._held)})
        self._notify()
        return complete

    def _card_address(self) -> str:
        host, port = self._address
        return f"{host}:{port}"

    def _live_count(self) -> int:
        return 0 if self._holder is None else self._holder.live_count()

    def _holders_after(self, before: dict[int, str], held: set[int]) -> dict[int, str]:
        holders = {s: n for s, n in before.items() if n != self.node_id}
        holders.update(dict.fromkeys(held, self.node_id))
        return holders

    def _renewed(self, held: set[int], sent: float) -> None:
        deadline = self.timing.deadline(sent)
        lost = {s for s in self._held if s not in held}
        for shard in held:
            self._held[shard] = deadline
        self._lose(lost)
        metrics.CLUSTER_SHARDS.set(len(self._held))
        self._arm_expiry()

    def _arm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if not self._held:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, min(self._held.values()) - self._clock())
        self._expiry = loop.call_later(delay, self._expire)

    def _expire(self) -> None:
        """Past a lease's safe end without a renewal: stop deciding its shard now."""
        self._expiry = None
        now = self._clock()
        expired = {s for s, deadline in self._held.items() if deadline <= now}
        if expired:
            log.warning("leases not renewed in time; shards dropped", extra={"n": len(expired)})
        self._lose(expired)
        metrics.CLUSTER_SHARDS.set(len(self._held))
        self._arm_expiry()

    def _lose(self, shards: set[int]) -> None:
        if not shards:
            return
        for shard in shards:
            self._held.pop(shard, None)
            self._releasing.discard(shard)
        metrics.LEASES_LOST.inc(len(shards))
        if self._holder is not None:
            self._holder.lose(shards)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # --- handoff --------------------------------------------------------------------------

    def _hand_off(self, shards: set[int]) -> None:
        if not shards:
            return
        self._releasing |= shards
        task = asyncio.create_task(self._release(shards), name="cluster-handoff")
        self._handoffs.add(task)
        task.add_done_callback(self._handoffs.discard)

    async def _release(self, shards: set[int]) -> None:
        """Stop, flush, then give the leases back; on failure they simply expire."""
        try:
            if self._holder is not None:
                await self._holder.hand_off(shards)
            await self._keys.release(shards)
            metrics.HANDOFFS.inc(len(shards))
        except _FAILURES as exc:
            log.warning("lease release failed; it will expire", extra={"error": repr(exc)})
        finally:
            for shard in shards:
                if shard in self._releasing:
                    self._releasing.discard(shard)
                    self._held.pop(shard, None)
            metrics.CLUSTER_SHARDS.set(len(self._held))
            self._notify()

    async def leave(self) -> None:
        """SIGTERM: hand every shard off, then leave the member set."""
        self._leaving = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._hand_off(set(self._held) - self._releasing)
        await asyncio.gather(*self._handoffs, return_exceptions=True)
        with contextlib.suppress(*_FAILURES):
            async with asyncio.timeout(self.timing.redis_timeout_s * 2):
                await self._keys.leave()

    async def close(self) -> None:
        if not self._leaving:
            await self.leave()
        if self._expiry is not None:
            self._expiry.cancel()
        await self._redis.aclose()


def preferred_owner(auction_id: int, members: set[str]) -> str | None:
    """Which member should decide an auction (for tests and tools)."""
    return rendezvous(shard_of(auction_id), members)
