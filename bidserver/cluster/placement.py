"""The placement port: which node decides an auction, and how to reach that node.

`LocalPlacement` is the single node of a deployment without `BIDSERVER_REDIS_URL`: every
auction is decided here, always. `bidserver.cluster.leases.LeasePlacement` is the cluster's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One member as `GET /cluster` shows it."""

    node_id: str
    address: str  # host:port of its node-to-node port
    auctions: int  # live auctions it decides
    ready: bool


class Placement(Protocol):
    node_id: str

    def owner_of(self, auction_id: int) -> str | None:
        """The deciding node's id (== node_id when local); None while unknown or moving."""

    def address_of(self, node_id: str) -> tuple[str, int] | None:
        """That node's cluster-port address, if it is a known member."""

    async def wait_owner(self, auction_id: int, timeout: float) -> str | None:  # noqa: ASYNC109
        """The owner once one is known, waiting at most `timeout` seconds."""

    def decides(self, auction_id: int) -> bool:
        """True only while this node may decide the auction now (its lease surely held)."""

    def joined(self) -> bool:
        """True once this node is a member that holds what it should (for `/ready`)."""

    async def nodes(self) -> list[NodeInfo]:
        """Every live member, this one included."""


class ShardHolder(Protocol):
    """What the placement tells the engine about shards it gains or gives up."""

    def lose(self, shards: set[int]) -> None:
        """Stop deciding these shards' auctions at once: the lease may be gone."""

    async def hand_off(self, shards: set[int]) -> None:
        """Stop taking commands for these shards, finish and flush what was decided."""

    def live_count(self) -> int:
        """Live auctions decided here now."""


class LocalPlacement:
    """A single node: every auction is ours, from the start."""

    def __init__(
        self, node_id: str, address: tuple[str, int], auctions: Callable[[], int] = lambda: 0
    ) -> None:
        self.node_id = node_id
        self._address = address
        self._auctions = auctions

    def owner_of(self, auction_id: int) -> str | None:
        return self.node_id

    def address_of(self, node_id: str) -> tuple[str, int] | None:
        return self._address if node_id == self.node_id else None

    async def wait_owner(self, auction_id: int, timeout: float) -> str | None:  # noqa: ASYNC109
        return self.node_id

    def decides(self, auction_id: int) -> bool:
        return True

    def joined(self) -> bool:
        return True

    async def nodes(self) -> list[NodeInfo]:
        host, port = self._address
        return [NodeInfo(self.node_id, f"{host}:{port}", self._auctions(), True)]


class StaticPlacement:
    """A fixed map auction -> node (others go to `default`), node -> address: for tests.

    `move` changes an owner (or makes it unknown with None) and wakes `wait_owner` callers.
    """

    def __init__(
        self,
        node_id: str,
        owners: Mapping[int, str | None],
        addresses: Mapping[str, tuple[str, int]],
        default: str | None = None,
    ) -> None:
        self.node_id = node_id
        self._owners = dict(owners)
        self._addresses = dict(addresses)
        self._default = default
        self._changed = asyncio.Event()

    def owner_of(self, auction_id: int) -> str | None:
        return self._owners.get(auction_id, self._default)

    def address_of(self, node_id: str) -> tuple[str, int] | None:
        return self._addresses.get(node_id)

    def move(self, auction_id: int, owner: str | None) -> None:
        self._owners[auction_id] = owner
        self._changed.set()
        self._changed = asyncio.Event()

    def set_address(self, node_id: str, address: tuple[str, int]) -> None:
        self._addresses[node_id] = address

    async def wait_owner(self, auction_id: int, timeout: float) -> str | None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (owner := self.owner_of(auction_id)) is None:
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                async with asyncio.timeout(left):
                    await self._changed.wait()
            except TimeoutError:
                return None
        return owner

    def decides(self, auction_id: int) -> bool:
        return self.owner_of(auction_id) == self.node_id

    def joined(self) -> bool:
        return True

    async def nodes(self) -> list[NodeInfo]:
        return [
            NodeInfo(node, f"{host}:{port}", 0, True)
            for node, (host, port) in sorted(self._addresses.items())
        ]
