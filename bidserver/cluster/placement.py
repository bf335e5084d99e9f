"""The placement port: which node decides an auction, and how to reach that node.

`LocalPlacement` is the single node of a deployment without `BIDSERVER_REDIS_URL`: every
auction is decided here, always. `bidserver.cluster.leases.LeasePlacement` is the cluster's.
"""

from __future__ import annotations

from collections.abc import Callable
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
