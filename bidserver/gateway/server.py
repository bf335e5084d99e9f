"""The WebSocket gateway: the `websockets` server, its handshake checks and its limits."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import NegotiationError
from websockets.http11 import Request, Response
from websockets.typing import Origin, Subprotocol

from bidserver.gateway.connection import BidderConnection
from bidserver.gateway.outbox import flush_pending
from bidserver.gateway.probes import answer_http, json_response
from bidserver.gateway.session import GatewayContext, Session
from bidserver.health import Readiness
from bidserver.wire import MAX_FRAME_BYTES, SUBPROTOCOLS

_TOKEN_PARAMS = frozenset({"token", "access_token", "accesstoken", "jwt", "auth"})


def _token_in_query(request: Request) -> bool:
    query = parse_qs(urlsplit(request.path).query, keep_blank_values=True)
    return any(key.lower() in _TOKEN_PARAMS for key in query)


def _select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """The client's first supported choice; none offered means JSON (CONTRACT §3)."""
    if not offered:
        return None
    for choice in offered:
        if choice in SUBPROTOCOLS:
            return choice
    raise NegotiationError("unsupported subprotocol; expected one of " + ", ".join(SUBPROTOCOLS))


class Gateway:
    def __init__(self, ctx: GatewayContext, readiness: Readiness) -> None:
        self._ctx = ctx
        self._readiness = readiness
        self._server: Server | None = None

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if _token_in_query(request):
            # Query strings end up in logs and proxies; tokens go in a header or a message.
            error = {"code": "unauthenticated", "message": "tokens are not accepted in the URL"}
            return json_response(HTTPStatus.UNAUTHORIZED, {"error": error})
        return await answer_http(self._readiness, request)

    async def _handle(self, connection: ServerConnection) -> None:
        await Session(connection, self._ctx).run()

    async def start(self, host: str, port: int, origins: frozenset[str]) -> Server:
        allowed: list[Origin | None] = [Origin(o) for o in sorted(origins)]
        allowed.append(None)  # non-browser clients send no Origin
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            origins=allowed,
            subprotocols=[Subprotocol(p) for p in SUBPROTOCOLS],
            select_subprotocol=_select_subprotocol,
            compression=None,  # permessage-deflate costs ~50 KiB per connection
            max_size=MAX_FRAME_BYTES,
            max_queue=16,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=5,
            backlog=2048,  # the default 100 drops SYNs when thousands connect at once
            create_connection=BidderConnection,
        )
        return self._server

    def stop_accepting(self) -> None:
        """Stop listening, keeping open sockets for the drain.

        Only the listening `asyncio.Server` is closed: `websockets`' own `Server.close()` is
        idempotent, so calling it here without closing connections would turn the later
        `close()` into a no-op that never sends 1001 and waits for clients to leave.
        """
        if self._server is not None:
            self._server.server.close()

    async def close(self) -> None:
        """Close every connection with 1001 (going away) and wait for the handlers."""
        flush_pending()  # answers released by the drain go out before the close frames
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
