"""Small WebSocket client helpers for the CONTRACT §3 suites (test_ws_*.py).

Every await is bounded: a missing reply fails the test after `TIMEOUT_S` instead of
hanging it. Frames are decoded by their kind (text = JSON, binary = msgpack), so the same
helpers serve both subprotocols.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any, Final

import msgpack
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.typing import Subprotocol

Msg = dict[str, Any]

TIMEOUT_S: Final = 3.0
JSON_SP: Final = Subprotocol("bidserver.v1.json")
MSGPACK_SP: Final = Subprotocol("bidserver.v1.msgpack")
ISO_MS: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
PUBLIC_EVENTS: Final = frozenset({"bid", "extended", "closed", "cancelled"})

_refs = itertools.count(1)


def fresh_ref() -> str:
    return f"r{next(_refs)}"


def decode(frame: str | bytes) -> Msg:
    loaded = json.loads(frame) if isinstance(frame, str) else msgpack.unpackb(frame, raw=False)
    assert isinstance(loaded, dict), f"server sent a non-object frame: {frame!r}"
    return loaded


def encode_for(ws: ClientConnection, message: Msg) -> str | bytes:
    if ws.subprotocol == MSGPACK_SP:
        return msgpack.packb(message, use_bin_type=True)
    return json.dumps(message)


async def send(ws: ClientConnection, message: Msg) -> None:
    await ws.send(encode_for(ws, message))


async def recv(ws: ClientConnection, wait_s: float = TIMEOUT_S) -> Msg:
    async with asyncio.timeout(wait_s):
        return decode(await ws.recv())


async def until(ws: ClientConnection, kind: str, wait_s: float = TIMEOUT_S) -> list[Msg]:
    """Every message up to and including the first of type `kind`."""
    seen: list[Msg] = []
    async with asyncio.timeout(wait_s):
        while not seen or seen[-1].get("type") != kind:
            seen.append(decode(await ws.recv()))
    return seen


async def next_of(ws: ClientConnection, kind: str, wait_s: float = TIMEOUT_S) -> Msg:
    return (await until(ws, kind, wait_s))[-1]


async def ask(ws: ClientConnection, message: Msg, wait_s: float = TIMEOUT_S) -> Msg:
    """Send `message` (a fresh ref is added if it has none); return the reply echoing it.

    Messages received meanwhile that do not echo the ref are dropped: use `ask_all` when
    they matter.
    """
    return (await ask_all(ws, message, wait_s))[-1]


async def ask_all(ws: ClientConnection, message: Msg, wait_s: float = TIMEOUT_S) -> list[Msg]:
    """Like `ask`, but return every message received up to and including the reply."""
    if "ref" not in message:
        message = {**message, "ref": fresh_ref()}
    await send(ws, message)
    seen: list[Msg] = []
    async with asyncio.timeout(wait_s):
        while not seen or "ref" not in seen[-1] or seen[-1]["ref"] != message["ref"]:
            seen.append(decode(await ws.recv()))
    return seen


async def barrier(ws: ClientConnection) -> list[Msg]:
    """Ping and return what arrived before the pong: anything the server wrote earlier."""
    seen = await ask_all(ws, {"type": "ping"})
    assert seen[-1]["type"] == "pong"
    return seen[:-1]


async def close_code(ws: ClientConnection, wait_s: float = TIMEOUT_S) -> tuple[int, list[Msg]]:
    """Read until the server closes; return its close code and what came before it."""
    seen: list[Msg] = []
    rcvd: Close | None = None
    try:
        async with asyncio.timeout(wait_s):
            while True:
                seen.append(decode(await ws.recv()))
    except ConnectionClosed as closed:
        rcvd = closed.rcvd
    assert rcvd is not None, "the connection ended without a close frame"
    return rcvd.code, seen


def public(messages: list[Msg]) -> list[Msg]:
    return [m for m in messages if m.get("type") in PUBLIC_EVENTS]


async def subscribe(ws: ClientConnection, auction_id: int, **extra: Any) -> Msg:
    reply = await ask(ws, {"type": "subscribe", "auctionId": auction_id, **extra})
    assert reply["type"] == "subscribed", reply
    return reply


async def bid(ws: ClientConnection, auction_id: int, amount: Any, **extra: Any) -> Msg:
    return await ask(ws, {"type": "bid", "auctionId": auction_id, "amount": amount, **extra})


async def accepted_bid(ws: ClientConnection, auction_id: int, amount: int, **extra: Any) -> Msg:
    reply = await bid(ws, auction_id, amount, **extra)
    assert reply["type"] == "bid_result", reply
    return reply
