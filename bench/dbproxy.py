"""A TCP proxy between the server and PostgreSQL, to take the database away mid-run.

The server's BIDSERVER_DATABASE_URL points at the proxy (127.0.0.1, an ephemeral port);
the proxy forwards each connection to the real server (TCP, or the unix socket of an
embedded PostgreSQL). `pause()` cuts every open connection at once, as a crashed database
or a broken network would, and refuses new ones until `resume()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_CHUNK = 64 * 1024


def upstream_of(dsn: str) -> tuple[str | None, int, str | None]:
    """(host, port, unix socket path) of a libpq-style URL."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or "localhost"
    port = int(query.get("port") or parts.port or 5432)
    if host.startswith("/"):
        return None, port, f"{host.rstrip('/')}/.s.PGSQL.{port}"
    return host, port, None


def via_proxy(dsn: str, port: int) -> str:
    """The same URL (user, password, database, options) aimed at 127.0.0.1:`port`."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))


class PgProxy:
    def __init__(self, dsn: str) -> None:
        self._host, self._port, self._socket = upstream_of(dsn)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.paused = False
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._socket is not None:
            return await asyncio.open_unix_connection(self._socket)
        return await asyncio.open_connection(self._host, self._port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.paused:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await self._connect()
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._links.difference_update((writer, up_writer))
            writer.transport.abort()
            up_writer.transport.abort()

    def pause(self) -> None:
        """Cut every forwarded connection and refuse new ones."""
        self.paused = True
        for writer in list(self._links):
            writer.transport.abort()

    def resume(self) -> None:
        self.paused = False

    async def close(self) -> None:
        self.pause()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
