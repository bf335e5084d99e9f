"""A TCP proxy that can cut a client off its PostgreSQL, to test database outages.

It listens on 127.0.0.1 (an ephemeral port) and forwards every connection to the real server,
by TCP or by unix socket (the embedded PostgreSQL of the test fixtures listens on a socket
only). `pause()` aborts every open connection at once, as a crashed server or a broken
network would, and then refuses new ones (accepted and reset at once) or, with `hold=True`,
holds them unanswered until `resume()`. `cut_after_commit()` lets the next transaction
commit on the server and then cuts its connection before the client hears of it: the
"fate unknown" case. The server never notices the proxy: to PostgreSQL each forwarded
connection is an ordinary client of the same host.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_CHUNK = 64 * 1024
_DEFAULT_PG_PORT = 5432


def command_complete(tag: bytes) -> bytes:
    """The server's CommandComplete message for a command tag such as b"COMMIT"."""
    return b"C" + (4 + len(tag) + 1).to_bytes(4, "big") + tag + b"\x00"


@dataclass(frozen=True, slots=True)
class Target:
    """Where the real server listens: a TCP host and port, or a unix socket path."""

    host: str | None = None
    port: int | None = None
    socket_path: str | None = None


def target_of(dsn: str) -> Target:
    """The server a libpq-style URL points at, for both `host:port` and `?host=/socket/dir`."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or "localhost"
    port = int(query.get("port") or parts.port or _DEFAULT_PG_PORT)
    if host.startswith("/"):
        return Target(socket_path=f"{host.rstrip('/')}/.s.PGSQL.{port}")
    return Target(host=host, port=port)


def via(dsn: str, port: int) -> str:
    """The same URL (user, password, database, options) aimed at 127.0.0.1:`port`."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))


class _Link:
    """One forwarded connection: both transports, so that `pause()` can cut them at once."""

    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream

    def abort(self) -> None:
        self.client.transport.abort()
        self.upstream.transport.abort()


class TcpProxy:
    def __init__(self, target: Target) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._paused = False
        self._hold = False
        self._resumed = asyncio.Event()
        self._resumed.set()
        self.port = 0
        self.refused = 0  # connections turned away while paused
        self.commits_cut = 0
        self._cut_commit = False
        self._cut_marker = command_complete(b"COMMIT")

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def dsn(self, dsn: str) -> str:
        return via(dsn, self.port)

    @property
    def open_links(self) -> int:
        return len(self._links)

    def pause(self, *, hold: bool = False) -> None:
        """Cut every open connection now; refuse new ones (or hold them) until `resume()`."""
        self._paused, self._hold = True, hold
        self._resumed.clear()
        for link in list(self._links):
            link.abort()

    def cut_after_commit(self, tag: bytes = b"COMMIT") -> None:
        """The next command with this tag that completes: drop its answer and cut the link.

        A COMMIT, or a single statement in its own implicit transaction (committed at Sync,
        before the server flushes the answer that carries the tag).
        """
        self._cut_marker = command_complete(tag)
        self._cut_commit = True

    def _lets_through(self, data: bytes) -> bool:
        """Whether a chunk from the server may reach the client (see `cut_after_commit`)."""
        if self._cut_commit and self._cut_marker in data:
            self._cut_commit = False
            self.commits_cut += 1
            return False
        return True

    def resume(self) -> None:
        self._paused = False
        self._resumed.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._handlers.discard(task)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._paused and not self._hold:
            self.refused += 1
            return  # the caller aborts: the client sees its connection reset
        await self._resumed.wait()
        try:
            up_reader, up_writer = await self._connect()
        except OSError:
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(
                _pipe(reader, up_writer), _pipe(up_reader, writer, self._lets_through)
            )
        finally:
            self._links.discard(link)
            link.abort()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        target = self._target
        if target.socket_path is not None:
            return await asyncio.open_unix_connection(target.socket_path)
        return await asyncio.open_connection(target.host, target.port)


async def _pipe(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    lets_through: Callable[[bytes], bool] | None = None,
) -> None:
    """Copy until either side goes away (or a chunk is stopped), then cut the whole link."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(_CHUNK):
            if sink.transport.is_closing():
                break
            if lets_through is not None and not lets_through(data):
                break
            sink.write(data)
            await sink.drain()
    sink.transport.abort()
