"""The transport ceiling: a bare `websockets` server that answers bids at once.

Same library, options and write path as the bidserver gateway (no compression, 64 KiB
frames, orjson, whole frames handed to the handler from `data_received` by the gateway's
`BidderConnection`, each connection's frames of a loop turn written at once by the gateway's
`Outbox`, one prebuilt frame for every watcher), but no rules, actors or database: each
`bid`/`max_bid` gets a `bid_result`-shaped reply immediately, and a `bid` event goes to
the auction's subscribers, so `hot` with watchers has the same fan-out. `subscribe` answers with a
snapshot, `ping` with `pong`, `auth` with `auth_ok`. It serves /health and /ready too.

    python -m bench.echo_server --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections import defaultdict
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Any

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bidserver.gateway.connection import BidderConnection
from bidserver.gateway.outbox import Outbox
from bidserver.wire import Format
from bidserver.wire.frames import Frames, server_frame

ENDS_AT = "2099-01-01T00:00:00.000Z"


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Echo:
    def __init__(self) -> None:
        self.seq: dict[int, int] = defaultdict(int)
        self.watchers: dict[int, set[ServerConnection]] = defaultdict(set)
        self.outboxes: dict[ServerConnection, Outbox] = {}

    def answer(self, ws: ServerConnection, message: dict[str, Any]) -> None:
        kind, ref = message.get("type"), message.get("ref")
        auction = message.get("auctionId")
        auction_id = auction if isinstance(auction, int) else 0
        if kind in ("bid", "max_bid"):
            self._bid(ws, auction_id, message, ref)
        elif kind == "subscribe":
            self.watchers[auction_id].add(ws)
            self._reply(
                ws,
                {
                    "type": "subscribed",
                    "auctionId": auction_id,
                    "snapshot": self._snapshot(auction_id),
                    "recovered": False,
                },
                ref,
            )
        elif kind == "unsubscribe":
            self.watchers[auction_id].discard(ws)
            self._reply(ws, {"type": "unsubscribed", "auctionId": auction_id}, ref)
        elif kind == "ping":
            self._reply(ws, {"type": "pong", "serverTime": _iso_now()}, ref)
        elif kind == "auth":
            self._reply(ws, {"type": "auth_ok", "userId": 1, "expiresAt": ENDS_AT}, ref)
        else:
            self._reply(ws, {"type": "error", "code": "bad_request", "message": "?"}, ref)

    def _bid(self, ws: ServerConnection, auction_id: int, msg: dict[str, Any], ref: Any) -> None:
        amount = msg.get("amount", msg.get("maxAmount"))
        amount = amount if isinstance(amount, int) else 0
        self.seq[auction_id] += 1
        seq = self.seq[auction_id]
        common = {
            "auctionId": auction_id,
            "currentPrice": amount,
            "bidCount": seq,
            "seq": seq,
            "endsAt": ENDS_AT,
        }
        self._reply(
            ws,
            {
                "type": "bid_result",
                "accepted": True,
                "amount": amount,
                "leading": True,
                "bidderAlias": "bidder-1",
                **common,
            },
            ref,
        )
        watchers = self.watchers.get(auction_id)
        if watchers:
            event = {
                "type": "bid",
                "kind": "bid",
                "amount": amount,
                "bidderAlias": "bidder-1",
                "leaderAlias": "bidder-1",
                "minimumNextBid": amount + 1000,
                "reserveMet": True,
                "at": _iso_now(),
                **common,
            }
            frame = Frames(event).wire(Format.JSON)
            for watcher in watchers:
                self.outboxes[watcher].put(frame)

    def on_frame(self, ws: ServerConnection, frame: str | bytes) -> None:
        try:
            message = orjson.loads(frame)
        except ValueError:
            message = {}
        self.answer(ws, message if isinstance(message, dict) else {})

    def _snapshot(self, auction_id: int) -> dict[str, Any]:
        seq = self.seq[auction_id]
        return {
            "auctionId": auction_id,
            "seq": seq,
            "status": "open",
            "currentPrice": None,
            "bidCount": seq,
            "leaderAlias": None,
            "minimumNextBid": 1000,
            "reserveMet": True,
            "buyNowAvailable": False,
            "startsAt": ENDS_AT,
            "endsAt": ENDS_AT,
        }

    def _reply(self, ws: ServerConnection, message: dict[str, Any], ref: Any) -> None:
        if ref is not None:
            message["ref"] = ref
        self.outboxes[ws].put(server_frame(orjson.dumps(message), True))

    async def handle(self, ws: ServerConnection) -> None:
        self.outboxes[ws] = Outbox(ws, ws.transport.abort)
        on_frame = partial(self.on_frame, ws)
        if isinstance(ws, BidderConnection):
            ws.on_message = on_frame  # the gateway's read path too
        try:
            async for frame in ws:
                on_frame(frame)
        except ConnectionClosed:
            pass
        finally:
            for watchers in self.watchers.values():
                watchers.discard(ws)
            del self.outboxes[ws]


def _http(connection: ServerConnection, request: Request) -> Response | None:
    path = request.path.partition("?")[0]
    if path in ("/health", "/ready"):
        body = b'{"ready": true}'
        headers = Headers(
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ]
        )
        return Response(HTTPStatus.OK.value, "OK", headers, body)
    return None


async def main(host: str, port: int) -> None:
    echo = Echo()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        echo.handle,
        host,
        port,
        process_request=_http,
        compression=None,
        max_size=64 * 1024,
        max_queue=16,
        ping_interval=20,
        ping_timeout=20,
        close_timeout=5,
        create_connection=BidderConnection,
    ) as server:
        await stop.wait()
        server.close(close_connections=True)
        await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    uvloop.run(main(args.host, args.port))
