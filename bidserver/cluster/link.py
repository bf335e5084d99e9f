"""Authenticated connections between nodes: the listener, the dialer, and one open link.

A connection speaks the handshake of `handshake.py` first, with tiny frames and a deadline;
a peer that sends garbage, lacks the secret or replays an old exchange is aborted at once
and nothing else on the node notices. Once both sides proved the secret the connection is
a `Link`: msgpack frames both ways, written without awaiting, and cut when the peer leaves
more than `MAX_SEND_BUFFER` unread (what waited on it then gets `unavailable` upstream).

`Peers` keeps one outgoing link per peer it needs and redials a lost one with back-off,
for as long as placement still knows the peer's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Final, cast

from bidserver.cluster import stats
from bidserver.cluster.frames import (
    HANDSHAKE_FRAME_BYTES,
    MAX_FRAME_BYTES,
    FrameDecoder,
    FrameError,
    LinkMessage,
    encode_frame,
)
from bidserver.cluster.handshake import (
    NONCE_BYTES,
    DialerHandshake,
    HandshakeError,
    ListenerHandshake,
)

log = logging.getLogger("bidserver.cluster.link")

HANDSHAKE_TIMEOUT_S: Final = 2.0
MAX_SEND_BUFFER: Final = 8 << 20  # unread bytes a peer may leave us holding
BACKOFF_FIRST_S: Final = 0.05
BACKOFF_MAX_S: Final = 2.0

MessageFn = Callable[["Link", LinkMessage], None]
LinkFn = Callable[["Link"], None]


class Link:
    """One open, authenticated connection to `peer_id`."""

    __slots__ = ("_protocol", "closed", "on_close", "on_message", "peer_id")

    def __init__(self, protocol: LinkProtocol, peer_id: str) -> None:
        self._protocol = protocol
        self.peer_id = peer_id
        self.closed = False
        self.on_message: MessageFn = _ignore
        self.on_close: LinkFn = _ignore_link

    def send(self, message: LinkMessage) -> bool:
        """Write one message without awaiting; False (and the link cut) if it cannot go."""
        if self.closed:
            return False
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_SEND_BUFFER:
            log.warning("peer does not read; link cut", extra={"peer": self.peer_id})
            self.close()
            return False
        transport.write(encode_frame(message))
        return True

    def close(self) -> None:
        transport = self._protocol.transport
        if transport is not None:
            transport.abort()


class LinkProtocol(asyncio.Protocol):
    """Handshake first (as dialer or listener), then frames to `Link.on_message`."""

    def __init__(
        self,
        secret: bytes,
        node_id: str,
        *,
        dialer: bool,
        on_open: LinkFn,
    ) -> None:
        nonce = secrets.token_bytes(NONCE_BYTES)
        self._dialer = DialerHandshake(secret, node_id, nonce) if dialer else None
        self._listener = None if dialer else ListenerHandshake(secret, node_id, nonce)
        self._on_open = on_open
        self._decoder = FrameDecoder(HANDSHAKE_FRAME_BYTES)
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.link: Link | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(HANDSHAKE_TIMEOUT_S, self._refuse, "handshake timed out")
        if self._dialer is not None:
            self.transport.write(encode_frame(self._dialer.hello()))

    def data_received(self, data: bytes) -> None:
        try:
            for message in self._decoder.feed(data):
                if self.link is not None:
                    self.link.on_message(self.link, message)
                else:
                    self._handshake(message)
        except (FrameError, HandshakeError) as exc:
            self._refuse(str(exc))

    def _handshake(self, message: LinkMessage) -> None:
        assert self.transport is not None
        if self._listener is not None:
            if message.get("t") == "hello":
                self.transport.write(encode_frame(self._listener.on_hello(message)))
                return
            peer = self._listener.on_proof(message)
            self.transport.write(encode_frame(ListenerHandshake.welcome()))
        else:
            assert self._dialer is not None
            if message.get("t") == "challenge":
                self.transport.write(encode_frame(self._dialer.on_challenge(message)))
                return
            peer = self._dialer.on_welcome(message)
        self._open(peer)

    def _open(self, peer: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._decoder.limit = MAX_FRAME_BYTES
        self.link = Link(self, peer)
        self._on_open(self.link)

    def _refuse(self, why: str) -> None:
        if self.link is None:
            stats.LINK_REFUSED.inc()
            log.warning("node link refused", extra={"reason": why})
        else:
            log.warning("node link broken", extra={"peer": self.link.peer_id, "reason": why})
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        link = self.link
        if link is not None and not link.closed:
            link.closed = True
            link.on_close(link)


class LinkServer:
    """Listens on the cluster port; every link that proves the secret goes to `on_link`."""

    def __init__(self, secret: bytes, node_id: str, on_link: LinkFn) -> None:
        self._secret = secret
        self._node_id = node_id
        self._on_link = on_link
        self._server: asyncio.Server | None = None
        self._links: set[Link] = set()

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host, port)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def _protocol(self) -> LinkProtocol:
        return LinkProtocol(self._secret, self._node_id, dialer=False, on_open=self._opened)

    def _opened(self, link: Link) -> None:
        self._links.add(link)
        self._on_link(link)  # sets the link's handlers
        close = link.on_close

        def closed(gone: Link) -> None:
            self._links.discard(gone)
            close(gone)

        link.on_close = closed

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


AddressFn = Callable[[str], "tuple[str, int] | None"]


class Peers:
    """Outgoing links: one per peer, dialled on first need and redialled when lost."""

    def __init__(self, secret: bytes, node_id: str, address_of: AddressFn, on_link: LinkFn) -> None:
        self._secret = secret
        self._node_id = node_id
        self._address_of = address_of
        self._on_link = on_link
        self._links: dict[str, Link] = {}
        self._ready: dict[str, asyncio.Future[Link]] = {}
        self._dialers: dict[str, asyncio.Task[None]] = {}
        self._lost: set[str] = set()  # peers whose link was lost once: the next is a redial
        self._closing = False

    def link(self, peer: str) -> Link | None:
        """The open link to `peer` now, starting to dial it if there is none."""
        link = self._links.get(peer)
        if link is None:
            self._dial(peer)
        return link

    async def wait_link(self, peer: str, within: float) -> Link | None:
        link = self.link(peer)
        if link is not None or self._closing:
            return link
        future = self._ready.setdefault(peer, asyncio.get_running_loop().create_future())
        try:
            async with asyncio.timeout(within):
                return await asyncio.shield(future)
        except TimeoutError:
            return None

    def _dial(self, peer: str) -> None:
        if peer in self._dialers or self._closing:
            return
        task = asyncio.get_running_loop().create_task(self._keep(peer), name=f"link-{peer}")
        self._dialers[peer] = task

    async def _keep(self, peer: str) -> None:
        """Dial until connected; after a loss, dial again with back-off while still known."""
        delay = BACKOFF_FIRST_S
        try:
            while not self._closing and (address := self._address_of(peer)) is not None:
                lost = await self._connect(peer, address)
                if lost is None:
                    await asyncio.sleep(delay)  # back-off between failed dials
                    delay = min(delay * 2, BACKOFF_MAX_S)
                    continue
                delay = BACKOFF_FIRST_S
                await lost
                self._lost.add(peer)
        finally:
            self._dialers.pop(peer, None)
            future = self._ready.pop(peer, None)
            if future is not None and not future.done():
                future.cancel()

    async def _connect(self, peer: str, address: tuple[str, int]) -> asyncio.Future[None] | None:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[Link] = loop.create_future()
        lost: asyncio.Future[None] = loop.create_future()

        def on_open(link: Link) -> None:
            if link.peer_id == peer:  # handlers set before the next frame is read
                self._up(peer, link, lost)
            if not opened.done():
                opened.set_result(link)

        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S + 1.0):
                await loop.create_connection(
                    lambda: LinkProtocol(self._secret, self._node_id, dialer=True, on_open=on_open),
                    *address,
                )
                link = await opened
        except (OSError, TimeoutError) as exc:
            log.info("dial failed", extra={"peer": peer, "error": repr(exc)})
            return None
        if link.peer_id != peer:  # a different node answers at that address now
            link.close()
            return None
        return lost

    def _up(self, peer: str, link: Link, lost: asyncio.Future[None]) -> None:
        if peer in self._lost:
            stats.LINK_RECONNECTS.inc()
        self._links[peer] = link
        self._on_link(link)
        close = link.on_close

        def closed(gone: Link) -> None:
            if self._links.get(peer) is gone:
                del self._links[peer]
            close(gone)
            if not lost.done():
                lost.set_result(None)

        link.on_close = closed
        future = self._ready.pop(peer, None)
        if future is not None and not future.done():
            future.set_result(link)

    async def close(self) -> None:
        self._closing = True
        for link in list(self._links.values()):
            link.close()
        tasks = list(self._dialers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _ignore(link: Link, message: LinkMessage) -> None:
    """Messages before anyone listens are dropped."""


def _ignore_link(link: Link) -> None:
    """Nobody asked to hear of this link's end."""
