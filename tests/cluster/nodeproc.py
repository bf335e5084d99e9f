"""A real `bidserver serve` in a child process, for tests that kill, signal and restart it.

Each node gets free ports, its own data dir and the test run's database; its JSON logs go
to a file that a failing test shows. Start-up waits for `GET /ready` on the WebSocket port,
polled with a bound: the one wait here that has no event to wake it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from tests.bidload import BidClient
from tests.support import SECRET, token_for

READY_TIMEOUT_S = 30.0
READY_POLL_S = 0.05  # readiness polling interval, not synchronisation
STOP_TIMEOUT_S = 30.0  # CONTRACT §1: SIGTERM exits within 30 s


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command() -> list[str]:
    """The installed console script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).with_name("bidserver")
    if script.exists():
        return [str(script)]
    entry = "import sys; from bidserver.cli import main; sys.exit(main())"
    return [sys.executable, "-c", entry]


@dataclass
class Node:
    process: asyncio.subprocess.Process
    ws_port: int
    log_path: Path
    http_port: int = 0
    node_id: str = ""

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        self.process.kill()

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    async def get_json(self, path: str, *, admin: bool = True) -> tuple[int, Any]:
        """GET on the REST port (with an admin token), as (status, decoded body)."""
        headers = {"Authorization": f"Bearer {token_for(1, 'admin')}"} if admin else {}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{self.http_port}{path}", headers=headers) as got,
        ):
            return got.status, await got.json(content_type=None)

    async def owner_of(self, auction_id: int) -> tuple[str | None, int]:
        """`GET /cluster/auctions/{id}`: (owner node id, epoch)."""
        status, body = await self.get_json(f"/cluster/auctions/{auction_id}")
        assert status == 200, body
        return body["ownerNodeId"], body["epoch"]

    async def exit_code(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        async with asyncio.timeout(timeout_s):
            return await self.process.wait()

    @contextlib.asynccontextmanager
    async def bidders(self, users: list[int]) -> AsyncIterator[list[BidClient]]:
        """One authenticated connection per user, closed (if still open) on exit."""
        async with contextlib.AsyncExitStack() as stack:
            clients = []
            for user in users:
                ws: ClientConnection = await stack.enter_async_context(
                    connect(
                        self.url,
                        additional_headers={"Authorization": f"Bearer {token_for(user)}"},
                    )
                )
                clients.append(BidClient(ws, user))
            yield clients
        for client in clients:
            await client.closed()


async def _ready(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        status = await reader.readline()
        return status.split()[1:2] == [b"200"]
    except OSError:
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def wait_ready(node: Node) -> None:
    async with asyncio.timeout(READY_TIMEOUT_S):
        while not await _ready(node.ws_port):
            if node.process.returncode is not None:
                raise AssertionError(f"node exited {node.process.returncode}:\n{node.log()}")
            await asyncio.sleep(READY_POLL_S)


def _environment(
    dsn: str, data_dir: Path, ws_port: int, http_port: int | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
    env.update(
        BIDSERVER_DATABASE_URL=dsn,
        BIDSERVER_JWT_SECRET=SECRET.decode(),
        BIDSERVER_WS_RATE_LIMIT="10000/20000",
        BIDSERVER_HOST="127.0.0.1",
        BIDSERVER_WS_PORT=str(ws_port),
        BIDSERVER_HTTP_PORT=str(http_port or free_port()),
        BIDSERVER_DATA_DIR=str(data_dir),
        BIDSERVER_LOG_LEVEL="warning",
    )
    return env


def _log_file(data_dir: Path, ws_port: int) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / f"node-{ws_port}.log"


def cluster_env(redis_url: str, cluster: str, node_id: str, lease_ms: int) -> dict[str, str]:
    """What makes a node a member of the test's own cluster (its own Redis key prefix)."""
    return {
        "BIDSERVER_REDIS_URL": redis_url,
        "BIDSERVER_CLUSTER_NAME": cluster,
        "BIDSERVER_NODE_ID": node_id,
        "BIDSERVER_LEASE_MS": str(lease_ms),
        "BIDSERVER_CLUSTER_PORT": str(free_port()),
    }


async def start_node(dsn: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> Node:
    """A started (not yet ready) node; the caller stops it (see `running_node`)."""
    ws_port, http_port = free_port(), free_port()
    log_path = _log_file(data_dir, ws_port)
    env = {**_environment(dsn, data_dir, ws_port, http_port), **(extra_env or {})}
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            *_command(),
            "serve",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )
    return Node(process, ws_port, log_path, http_port, env.get("BIDSERVER_NODE_ID", ""))


@contextlib.asynccontextmanager
async def running_node(
    dsn: str, data_dir: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Node]:
    """A ready node; stopped on exit (SIGTERM, then SIGKILL) unless the test ended it."""
    node = await start_node(dsn, data_dir, extra_env)
    try:
        await wait_ready(node)
        yield node
    finally:
        await stop(node)


async def stop(node: Node) -> None:
    if node.process.returncode is not None:
        return
    node.resume()  # a paused node cannot exit
    node.terminate()
    try:
        await node.exit_code()
    except TimeoutError:
        node.kill9()
        await node.exit_code()


_stop = stop  # the names an older test imports
_wait_ready = wait_ready
