"""The image, built and run for real (CONTRACT §9): a bid goes through it, SIGTERM drains it.

A private dockerd (tests/deploy/docker_engine.py) builds the repository's Dockerfile on a
locally made `debian:bookworm-slim`, then runs it with `--network host` against this
machine's PostgreSQL and Redis, waits for the image's own HEALTHCHECK to say `healthy`,
places a bid over WebSocket into the container, and `docker stop`s it while the bidder is
still connected: the socket must close with 1001, the container exit 0, the bid be stored.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.cluster.nodeproc import free_port
from tests.deploy.docker_engine import Engine, docker_engine, import_base_image
from tests.deploy.tools import REPO, missing
from tests.support import SECRET, make_auction, make_user, token_for

IMAGE = "bidserver:ci"
HEALTHY_TIMEOUT_S = 90.0
POLL_S = 0.5  # docker's health status has no event to wait on
STOP_TIMEOUT_S = 45  # CONTRACT §1 drains within 30 s; the runtime waits longer before SIGKILL

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """A private engine with the base image imported and the repository's image built."""
    with docker_engine() as running:
        import_base_image(running)
        running.check("build", "--network", "host", "-t", IMAGE, str(REPO), timeout=480)
        yield running


def _tcp_database(dsn: str) -> None:
    host = urlsplit(dsn).hostname
    if host not in ("127.0.0.1", "localhost"):
        missing("the container test needs PostgreSQL on 127.0.0.1 (found an embedded one)")


async def _free_redis_db(url: str) -> str:
    """A Redis database of the local server that is empty, so no other run's cluster is met."""
    if not url.startswith("redis://127.0.0.1:6379"):
        missing("the container test needs Redis on 127.0.0.1:6379 (found an embedded one)")
    for index in range(15, 1, -1):
        candidate = f"redis://127.0.0.1:6379/{index}"
        client = Redis.from_url(candidate)
        try:
            if await client.dbsize() == 0:
                return candidate
        finally:
            await client.aclose()
    raise AssertionError("no empty Redis database for the container")


@pytest_asyncio.fixture
async def container_db(
    pg_server_dsn: str, new_database: Callable[[], Awaitable[str]]
) -> AsyncIterator[str]:
    _tcp_database(pg_server_dsn)
    yield await new_database()


def _env_args(env: dict[str, str]) -> list[str]:
    return [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]


def _health(engine: Engine, name: str) -> tuple[str, str]:
    state = engine.check("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", name)
    status, _, health = state.partition(" ")
    return status, health


def _wait_healthy(engine: Engine, name: str) -> None:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while True:
        status, health = _health(engine, name)
        if health == "healthy":
            return
        if status != "running" or time.monotonic() > deadline:
            logs = engine.run("logs", name).stderr[-4000:]
            raise AssertionError(f"container {status}/{health}, never healthy:\n{logs}")
        time.sleep(POLL_S)


async def _bid(ws_port: int, auction_id: int, user_id: int) -> tuple[str, dict[str, object]]:
    bid_id = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {token_for(user_id)}"}
    async with connect(f"ws://127.0.0.1:{ws_port}/ws", additional_headers=headers) as ws:
        await ws.send(
            json.dumps(
                {"type": "bid", "ref": 1, "auctionId": auction_id, "amount": 1000, "bidId": bid_id}
            )
        )
        reply = json.loads(await ws.recv())
    return bid_id, reply


async def _read_until_closed(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def test_image_runs_a_bid_and_drains_on_docker_stop(
    engine: Engine, container_db: str, redis_url: str
) -> None:
    name = f"bidserver-ci-{secrets.token_hex(4)}"
    ws_port, http_port = free_port(), free_port()
    env = {
        "BIDSERVER_DATABASE_URL": container_db,
        "BIDSERVER_REDIS_URL": await _free_redis_db(redis_url),
        "BIDSERVER_JWT_SECRET": SECRET.decode(),
        "BIDSERVER_WS_PORT": str(ws_port),
        "BIDSERVER_HTTP_PORT": str(http_port),
        "BIDSERVER_CLUSTER_PORT": str(free_port()),
        "BIDSERVER_NODE_ID": name,
    }
    run = ["run", "-d", "--name", name, "--network", "host", "--health-interval", "1s"]
    await asyncio.to_thread(engine.check, *run, *_env_args(env), IMAGE)
    await asyncio.to_thread(_wait_healthy, engine, name)

    pool = await asyncpg.create_pool(container_db, min_size=1, max_size=2)
    try:
        auction_id, _seller = await make_auction(pool)
        bidder = await make_user(pool)
        bid_id, reply = await _bid(ws_port, auction_id, bidder)
        assert reply["type"] == "bid_result", reply
        assert reply["accepted"] is True, reply

        # A watcher stays connected through the stop: the drain closes it with 1001.
        async with connect(f"ws://127.0.0.1:{ws_port}/ws") as watcher:
            await watcher.send(json.dumps({"type": "subscribe", "auctionId": auction_id}))
            assert json.loads(await watcher.recv())["type"] == "subscribed"
            stop = asyncio.create_task(
                asyncio.to_thread(engine.check, "stop", "--time", str(STOP_TIMEOUT_S), name)
            )
            with pytest.raises(ConnectionClosed) as closed:
                await _read_until_closed(watcher)
            await stop
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001

        exit_code = await asyncio.to_thread(
            engine.check, "inspect", "-f", "{{.State.ExitCode}}", name
        )
        logs = (await asyncio.to_thread(engine.run, "logs", name)).stderr
        assert exit_code == "0", logs[-4000:]
        assert "Traceback" not in logs, logs[-4000:]
        stored = await pool.fetchval(
            "SELECT count(*) FROM auction_events WHERE auction_id = $1 AND cause_bid_id = $2",
            auction_id,
            bid_id,
        )
        assert stored == 1
    finally:
        await pool.close()


async def test_image_runs_as_non_root_without_compilers_or_caches(engine: Engine) -> None:
    """Async like the test above, so pytest-asyncio keeps both next to one engine fixture."""
    config = json.loads(
        await asyncio.to_thread(engine.check, "inspect", "-f", "{{json .Config}}", IMAGE)
    )
    assert config["User"] == "10001:10001"
    assert config["StopSignal"] == "SIGTERM"
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "-m", "bidserver.healthcheck"]
    assert "BIDSERVER_HOST=0.0.0.0" in config["Env"]
    probe = (
        "id -u; for c in gcc cc g++ make pip pip3; do command -v $c; done;"
        " find /root/.cache /var/lib/bidserver/.cache /var/lib/apt/lists -mindepth 1 2>/dev/null;"
        # As on ECS: the root file system read-only, the data dir (a volume) writable.
        " python -c 'import tempfile; tempfile.TemporaryFile()' && echo temp-writable;"
        " touch /opt/venv/probe 2>/dev/null || echo root-read-only"
    )
    run = ["run", "--rm", "--read-only", "--network", "none", "--entrypoint", "sh", IMAGE]
    out = await asyncio.to_thread(engine.check, *run, "-c", probe)
    assert out.split() == ["10001", "temp-writable", "root-read-only"], out
