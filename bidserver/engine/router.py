"""Awaitable access to auction actors for request/response callers (the REST sidecar).

The gateway talks to actors with callbacks; REST handlers want to `await` an answer. This
wraps the same actor calls in futures, with a deadline: a reply that does not come in time
is `unavailable` (its fate is unknown: the client retries with the same bidId).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from bidserver.auction import BidCommand, BidReply, Snapshot
from bidserver.engine.handles import Directory
from bidserver.errors import BidserverError, Unavailable

REPLY_TIMEOUT_S = 10.0
T = TypeVar("T")


class Router:
    def __init__(self, registry: Directory) -> None:
        self._registry = registry

    async def submit_bid(self, auction_id: int, command: BidCommand) -> BidReply:
        actor = await self._registry.get(auction_id)
        return await _ask(lambda answer: actor.submit_bid(command, answer))

    async def snapshot(self, auction_id: int) -> Snapshot:
        """The auction as committed so far (answered in order after earlier commands)."""
        actor = await self._registry.get(auction_id)
        return await _ask(actor.current_snapshot)

    def watchers(self, auction_id: int) -> int:
        """Connections of this node watching the auction (0 while its actor sleeps)."""
        handle = self._registry.live(auction_id)
        return 0 if handle is None else handle.subscriber_count

    async def cancel(self, auction_id: int) -> Snapshot:
        actor = await self._registry.get(auction_id)
        return await _ask(actor.cancel)


async def _ask(call: Callable[[Callable[[T | BidserverError], None]], None]) -> T:
    """Turn one callback-answered actor call into an awaited answer, with a deadline."""
    future: asyncio.Future[T | BidserverError] = asyncio.get_running_loop().create_future()
    call(lambda answer: _settle(future, answer))
    return _unwrap(await _wait(future))


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


async def _wait(future: asyncio.Future[T]) -> T:
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            return await future
    except TimeoutError:
        raise Unavailable("the auction did not answer in time; retry with the same bidId") from None


def _unwrap(value: T | BidserverError) -> T:
    if isinstance(value, BidserverError):
        raise value
    return value
