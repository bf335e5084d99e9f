"""One bidder's WebSocket connection: auth, rate limit, dispatch, and non-blocking writes.

The session decides nothing about auctions: it decodes frames into typed messages, hands
bids to the auction's actor and writes back what the actor releases. Writes never await:
they go straight into the transport (as `websockets.broadcast` does), and a connection
whose unread output passes the limit is cut off with 1013.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bidserver import metrics, wire
from bidserver.accounts.tokens import Claims, verify_access
from bidserver.auction import BidCommand, BuyNow, PlaceBid, PlaceMaxBid
from bidserver.config import WsRateLimit
from bidserver.engine.handles import AuctionHandle, Directory
from bidserver.engine.mailbox import Reply, Subscription
from bidserver.errors import BadRequest, BidserverError, RateLimited, Unauthenticated
from bidserver.gateway.connection import BidderConnection
from bidserver.gateway.outbox import Outbox
from bidserver.ports import AuctionStore
from bidserver.timefmt import now_ms
from bidserver.wire import Format, Frames, Message, Ref, server_frame

log = logging.getLogger("bidserver.session")

MAX_SUBSCRIPTIONS = 1000
CUT_OFF_GRACE_S = 10.0  # a cut-off client may still read its close frame, then it is dropped


@dataclass(frozen=True, slots=True)
class GatewayContext:
    registry: Directory
    store: AuctionStore
    secret: bytes
    rate: WsRateLimit


class _Bucket:
    """Token bucket: `per_second` sustained, `burst` at once; strikes count refusals."""

    __slots__ = ("burst", "last", "rate", "strikes", "tokens")

    def __init__(self, limit: WsRateLimit, now: float) -> None:
        self.rate, self.burst = float(limit.per_second), float(limit.burst)
        self.tokens, self.last, self.strikes = self.burst, now, 0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.strikes = 0
            return True
        self.strikes += 1
        return False


class Session:
    __slots__ = (
        "_bucket",
        "_buffers",
        "_closing",
        "_ctx",
        "_loop",
        "_outbox",
        "_subs",
        "_tasks",
        "claims",
        "conn",
        "fmt",
    )

    def __init__(self, conn: ServerConnection, ctx: GatewayContext) -> None:
        self.conn = conn
        self.fmt = wire.format_for(conn.subprotocol)
        self._ctx = ctx
        self.claims: Claims | None = None
        self._subs: dict[int, object] = {}  # auction id -> token of the live subscription
        self._buffers: dict[int, list[Frames]] = {}  # auctions catching up from the database
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._bucket = _Bucket(ctx.rate, self._loop.time())
        self._closing = False
        self._outbox = Outbox(conn, self._cut_off)

    @property
    def user_id(self) -> int | None:
        return None if self.claims is None else self.claims.user_id

    # --- writing --------------------------------------------------------------------------

    def push(self, frames: Frames) -> None:
        if self._buffers:
            auction_id = frames.message.get("auctionId")
            buffer = self._buffers.get(auction_id) if isinstance(auction_id, int) else None
            if buffer is not None:
                buffer.append(frames)
                return
        self._outbox.put(frames.wire(self.fmt))

    def send(self, message: Message) -> None:
        self._write(wire.encode(message, self.fmt))

    def _write(self, payload: bytes) -> None:
        self._outbox.put(server_frame(payload, self.fmt is Format.JSON))

    def _cut_off(self) -> None:
        """Stop writing to a client that does not read, before it holds 1 MiB of ours."""
        metrics.SLOW_CONSUMERS.inc()
        conn = self.conn
        conn.protocol.fail(1013, "too slow: messages not read")
        conn.send_data()
        self._loop.call_later(CUT_OFF_GRACE_S, conn.transport.abort)

    def _error(self, err: BidserverError, ref: Ref) -> None:
        self.send(wire.error(err, ref))

    # --- reading --------------------------------------------------------------------------

    async def run(self) -> None:
        metrics.CONNECTIONS.inc()
        try:
            self._auth_from_handshake()
            if isinstance(self.conn, BidderConnection):
                self.conn.on_message = self._on_frame  # from now on, frames come straight here
            async for frame in self.conn:  # those that came before, or fragmented ones
                self._on_frame(frame)
        except ConnectionClosed:
            pass
        finally:
            self._close()
            metrics.CONNECTIONS.dec()

    def _close(self) -> None:
        registry = self._ctx.registry
        for auction_id in self._subs:
            actor = registry.live(auction_id)
            if actor is not None:
                actor.unsubscribe(self)
        metrics.SUBSCRIPTIONS.dec(len(self._subs))
        self._subs.clear()
        for task in self._tasks:
            task.cancel()

    def _auth_from_handshake(self) -> None:
        header = self.conn.request.headers.get("Authorization") if self.conn.request else None
        if header is None:
            return
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("expected Authorization: Bearer <token>")
            self.claims = verify_access(self._ctx.secret, token.strip())
        except Unauthenticated as err:
            self._error(err, None)  # the socket may still watch

    def _on_frame(self, frame: str | bytes) -> None:
        if self._closing:
            return
        if not self._bucket.take(self._loop.time()):
            metrics.RATE_LIMITED.inc()
            if self._bucket.strikes > self._bucket.rate:
                self._closing = True  # kept going after `rate_limited`: policy violation
                self._spawn(self.conn.close(1008, "message rate limit exceeded"))
                return
            self._error(RateLimited("too many messages; slow down"), None)
            return
        try:
            message = wire.decode(frame, self.fmt)
        except wire.InvalidMessage as err:
            self._error(err, err.ref)
            return
        self._dispatch(message)

    def _dispatch(self, message: wire.ClientMessage) -> None:
        if isinstance(message, wire.BidMsg):
            command: BidCommand = PlaceBid(self.user_id or 0, message.amount, message.bid_id)
            self._bid(message.auction_id, command, message.ref)
        elif isinstance(message, wire.MaxBidMsg):
            command = PlaceMaxBid(self.user_id or 0, message.max_amount, message.bid_id)
            self._bid(message.auction_id, command, message.ref)
        elif isinstance(message, wire.BuyNowMsg):
            self._bid(message.auction_id, BuyNow(self.user_id or 0), message.ref)
        elif isinstance(message, wire.SubscribeMsg):
            self._subscribe(message)
        elif isinstance(message, wire.UnsubscribeMsg):
            self._unsubscribe(message)
        elif isinstance(message, wire.AuthMsg):
            self._auth(message)
        else:
            self.send(wire.pong(now_ms(), message.ref))

    def _auth(self, message: wire.AuthMsg) -> None:
        try:
            self.claims = verify_access(self._ctx.secret, message.token)
        except Unauthenticated as err:
            self._error(err, message.ref)
            return
        self.send(wire.auth_ok(self.claims.user_id, self.claims.expires_at_ms, message.ref))

    # --- bids -------------------------------------------------------------------------------

    def _bid(self, auction_id: int, command: BidCommand, ref: Ref) -> None:
        claims = self.claims
        if claims is None or now_ms() >= claims.expires_at_ms:
            reason = "log in to bid" if claims is None else "token expired; send a fresh auth"
            self._error(Unauthenticated(reason), ref)
            return
        reply = partial(self._answer_bid, auction_id, ref)
        self._with_actor(auction_id, lambda actor: actor.submit_bid(command, reply), reply)

    def _answer_bid(self, auction_id: int, ref: Ref, reply: Reply) -> None:
        if isinstance(reply, BidserverError):
            self._error(reply, ref)
        else:
            self.send(wire.bid_result(auction_id, reply, ref))

    def _with_actor(
        self,
        auction_id: int,
        then: Callable[[AuctionHandle], None],
        failed: Callable[[BidserverError], None],
    ) -> None:
        actor = self._ctx.registry.live(auction_id)
        if actor is not None:
            then(actor)
        else:
            self._spawn(self._activate_then(auction_id, then, failed))

    async def _activate_then(
        self,
        auction_id: int,
        then: Callable[[AuctionHandle], None],
        failed: Callable[[BidserverError], None],
    ) -> None:
        try:
            actor = await self._ctx.registry.get(auction_id)
        except BidserverError as err:
            failed(err)  # e.g. not_found
            return
        then(actor)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- subscriptions ------------------------------------------------------------------------

    def _subscribe(self, message: wire.SubscribeMsg) -> None:
        auction_id, ref = message.auction_id, message.ref
        if auction_id not in self._subs and len(self._subs) >= MAX_SUBSCRIPTIONS:
            self._error(BadRequest(f"at most {MAX_SUBSCRIPTIONS} subscriptions"), ref)
            return
        token = object()
        if auction_id not in self._subs:
            metrics.SUBSCRIPTIONS.inc()
        self._subs[auction_id] = token
        done = partial(self._subscribed, auction_id, token, ref)
        self._with_actor(
            auction_id,
            lambda actor: actor.subscribe(self, message.since_seq, done),
            partial(self._not_subscribed, auction_id, token, ref),
        )

    def _not_subscribed(
        self, auction_id: int, token: object, ref: Ref, err: BidserverError
    ) -> None:
        """The auction could not be reached (e.g. not_found): the subscription holds nothing."""
        if self._subs.get(auction_id) is token:
            self._drop(auction_id)
        self._error(err, ref)

    def _subscribed(
        self, auction_id: int, token: object, ref: Ref, result: Subscription | BidserverError
    ) -> bool:
        if self._subs.get(auction_id) is not token:
            # Overtaken by a later subscribe or an unsubscribe: answered all the same (every
            # message gets its reply), but never attached; the later one brings the events.
            if isinstance(result, BidserverError):
                self._error(result, ref)
            else:
                self.send(wire.subscribed(result.snapshot, False, ref))
            return False
        if isinstance(result, BidserverError):
            self._drop(auction_id)
            self._error(result, ref)
            return False
        if result.fetch_after is None:
            # A resume still reading the database was overtaken: its buffered events are
            # covered by this snapshot, and live events must flow straight to the socket.
            self._buffers.pop(auction_id, None)
            self.send(wire.subscribed(result.snapshot, result.recovered, ref))
            for frames in result.backlog:
                self._write(frames.encoded(self.fmt))
            return True
        self._buffers[auction_id] = []
        self._spawn(self._catch_up(auction_id, token, result, ref))
        return True

    async def _catch_up(
        self, auction_id: int, token: object, result: Subscription, ref: Ref
    ) -> None:
        """Send stored events the actor no longer holds, then what arrived meanwhile."""
        after = result.fetch_after or 0
        try:
            backlog = await self._ctx.store.public_events(auction_id, after, result.snapshot.seq)
            recovered = len(backlog) == result.snapshot.seq - after
        except BidserverError:
            backlog, recovered = [], False
        if self._subs.get(auction_id) is not token:
            return
        self.send(wire.subscribed(result.snapshot, recovered, ref))
        for payload in backlog if recovered else []:
            self.send(payload)
        for frames in self._buffers.pop(auction_id, []):
            self._write(frames.encoded(self.fmt))

    def _unsubscribe(self, message: wire.UnsubscribeMsg) -> None:
        auction_id = message.auction_id
        if auction_id in self._subs:
            self._drop(auction_id)
            actor = self._ctx.registry.live(auction_id)
            if actor is not None:
                actor.unsubscribe(self)
        self.send(wire.unsubscribed(auction_id, message.ref))

    def _drop(self, auction_id: int) -> None:
        del self._subs[auction_id]
        self._buffers.pop(auction_id, None)
        metrics.SUBSCRIPTIONS.dec()
