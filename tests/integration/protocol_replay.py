"""Replays the worked sessions of `docs/protocol.md` against a real gateway.

A session is a fenced block whose info string is `session`. Its lines:

    NAME connects                      a socket without a token
    NAME connects with a token         the user's token in the handshake's Authorization header
    NAME disconnects
    NAME → {json}                      the client sends this
    NAME ← {json}                      the next message on NAME's socket must be this

Received messages must have exactly the fields shown, with the values shown, except
timestamps (any ISO-8601 `…Z` string with milliseconds) and the ids the test made: the doc's
auction 42 and 43 and users 7, 8 and 9 stand for the real ones. `"<NAME's token>"` in a sent
message is replaced by a real token.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from tests.integration.wsclient import ISO_MS, recv, send
from tests.support import RunningEngine, make_auction, make_user, token_for

DOC = Path(__file__).parents[2] / "docs" / "protocol.md"
TIMES = frozenset({"serverTime", "expiresAt", "startsAt", "endsAt", "at"})
USERS = {"alice": 7, "bob": 8, "carol": 9}
LONG_AUCTION, CLOSING_AUCTION = 42, 43
RECV_TIMEOUT_S = 10.0  # long enough for the closing auction to close
_LINE = re.compile(r"^(\w+) (→|←) (\{.*\})$")


@dataclass(frozen=True)
class Step:
    who: str
    action: str  # connect, connect_token, disconnect, send, expect
    message: dict[str, Any] | None = None
    text: str = ""


def sessions(markdown: str) -> list[list[Step]]:
    blocks = re.findall(r"^```session\n(.*?)^```", markdown, flags=re.S | re.M)
    return [[_step(line) for line in block.splitlines() if line.strip()] for block in blocks]


def _step(line: str) -> Step:
    words = line.split()
    if words[1:] == ["connects"]:
        return Step(words[0], "connect", text=line)
    if words[1:] == ["connects", "with", "a", "token"]:
        return Step(words[0], "connect_token", text=line)
    if words[1:] == ["disconnects"]:
        return Step(words[0], "disconnect", text=line)
    matched = _LINE.match(line)
    assert matched is not None, f"not a session line: {line!r}"
    who, arrow, body = matched.groups()
    return Step(who, "send" if arrow == "→" else "expect", json.loads(body), line)


@dataclass
class Replay:
    server: RunningEngine
    pool: asyncpg.Pool
    subprotocol: Subprotocol
    users: dict[int, int] = field(default_factory=dict)  # doc id -> real id
    auctions: dict[int, int] = field(default_factory=dict)
    sockets: dict[str, ClientConnection] = field(default_factory=dict)
    seller: int = 0

    async def setup(self) -> None:
        for doc_id in USERS.values():
            self.users[doc_id] = await make_user(self.pool)
        self.seller = await make_user(self.pool, "seller")
        self.auctions[LONG_AUCTION], _ = await make_auction(
            self.pool,
            seller_id=self.seller,
            starting_price=25_000,
            reserve_price=27_000,
            buy_now_price=40_000,
        )

    async def _closing_auction(self) -> None:
        """Made when first used: it ends two seconds later, inside its anti-snipe window."""
        if CLOSING_AUCTION not in self.auctions:
            self.auctions[CLOSING_AUCTION], _ = await make_auction(
                self.pool,
                seller_id=self.seller,
                starting_price=9_000,
                ends_in=timedelta(seconds=2),
                anti_snipe_seconds=3,
            )

    async def run(self, steps: list[Step], stack: contextlib.AsyncExitStack) -> None:
        for step in steps:
            if step.action in ("connect", "connect_token"):
                user = self.users[USERS[step.who]] if step.action == "connect_token" else None
                self.sockets[step.who] = await stack.enter_async_context(
                    self.server.client(user, subprotocols=[self.subprotocol])
                )
            elif step.action == "disconnect":
                await self.sockets.pop(step.who).close()
            elif step.action == "send":
                assert step.message is not None
                await self._send(step.who, step.message)
            else:
                actual = await recv(self.sockets[step.who], RECV_TIMEOUT_S)
                expected = self._real(step.message)
                assert matches(expected, actual), f"{step.text}\n  got {json.dumps(actual)}"

    async def _send(self, who: str, message: dict[str, Any]) -> None:
        if message.get("auctionId") == CLOSING_AUCTION:
            await self._closing_auction()
        real = self._real(message)
        token = real.get("token")
        if isinstance(token, str) and token.startswith("<"):
            name = token.strip("<>").split("'")[0]
            real["token"] = token_for(self.users[USERS[name]])
        await send(self.sockets[who], real)

    def _real(self, message: Any) -> Any:
        if isinstance(message, dict):
            real = {key: self._real(value) for key, value in message.items()}
            if isinstance(real.get("auctionId"), int):
                real["auctionId"] = self.auctions.get(real["auctionId"], real["auctionId"])
            if isinstance(real.get("userId"), int):
                real["userId"] = self.users.get(real["userId"], real["userId"])
            return real
        return message


def matches(expected: Any, actual: Any, key: str = "") -> bool:
    """The same fields and values, any millisecond ISO timestamp standing for any other."""
    if key in TIMES and isinstance(expected, str):
        return isinstance(actual, str) and ISO_MS.fullmatch(actual) is not None
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(expected) == set(actual)
            and all(matches(expected[k], actual[k], k) for k in expected)
        )
    return bool(expected == actual and type(expected) is type(actual))
