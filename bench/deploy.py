"""What a run measures: a server the harness starts (and its database), or `--target`.

`deployment()` yields a `Target`: the URLs, one token per bidder user, the auction ids and
a sampler of the server process. For the `actor` and `rowlock` engines it creates a fresh
database, starts the server on it with the settings a benchmark needs (a WebSocket rate
limit far above the load, the REST limit off), seeds users and auctions through SQL, and
drops the database afterwards. `echo` needs no database. With `--target` nothing is
started: tokens are minted with `--secret` for `--users`, or `--token` is used as is.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from bench.db import BenchDatabase, seed
from bench.dbproxy import PgProxy, via_proxy
from bench.options import Options
from bench.server import ServerProcess, start_server
from bench.system import CorePlan, ProcessSampler
from bidserver.accounts.tokens import mint_access

TOKEN_TTL_S = 6 * 3600
WS_RATE_LIMIT = "100000/200000"
SUBSCRIBE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Needs:
    users: int
    auctions: int
    vehicles: int = 0
    ack_mode: str = "durable"
    db_proxy: bool = False


@dataclass
class Target:
    engine: str
    ws_url: str
    http_url: str | None
    tokens: list[str]
    auction_ids: list[int]
    sampler: ProcessSampler | None
    dsn: str | None = None  # direct, for the harness's own queries
    proxy: PgProxy | None = None
    server: ServerProcess | None = None
    single_user: bool = False  # `--token`: every connection is the same bidder
    # Per auction, above every amount this harness has sent to it: a later run on the same
    # auction starts there, since the leader's hidden max may be any of those amounts.
    floors: dict[int, int] = field(default_factory=dict)

    async def bases(self, auction_ids: tuple[int, ...]) -> tuple[int, ...]:
        """The first amount for each auction: its minimum next bid, or above our own bids."""
        minimums = await auction_bases(self.ws_url, list(auction_ids))
        return tuple(
            max(m, self.floors.get(a, 0)) for m, a in zip(minimums, auction_ids, strict=True)
        )

    def sent(self, auction_ids: tuple[int, ...], bases: tuple[int, ...], step: int, n: int) -> None:
        """Bids 0 … n-1 went out (bid i to auction i mod A at base + (i div A) * step)."""
        count = len(auction_ids)
        for slot, auction_id in enumerate(auction_ids[:n]):
            top = bases[slot] + ((n - 1 - slot) // count) * step
            self.floors[auction_id] = max(self.floors.get(auction_id, 0), top + step)

    def bid_id_prefix(self) -> str:
        """A fresh random UUID without its last group: bid ids never repeat across runs."""
        return str(uuid.uuid4())[:24]


def _mint(secret: bytes, user_ids: list[int]) -> list[str]:
    now = int(time.time())
    return [mint_access(secret, u, "bidder", now, TOKEN_TTL_S) for u in user_ids]


@asynccontextmanager
async def deployment(
    opts: Options, engine: str, needs: Needs, plan: CorePlan
) -> AsyncIterator[Target]:
    if opts.external:
        yield _external(opts)
    elif engine == "echo":
        async with _echo(opts, needs, plan) as target:
            yield target
    else:
        async with _bidserver(opts, engine, needs, plan) as target:
            yield target


def _external(opts: Options) -> Target:
    assert opts.target is not None
    if opts.token:
        tokens, single = [opts.token], True
    elif opts.secret and opts.users:
        tokens, single = _mint(opts.secret.encode(), list(opts.users)), False
    else:
        raise SystemExit("--target needs --token, or --secret and --users")
    sampler = ProcessSampler(opts.server_pid) if opts.server_pid else None
    return Target(
        "external",
        opts.target,
        opts.http_target,
        tokens,
        list(opts.auction_ids),
        sampler,
        single_user=single,
    )


@asynccontextmanager
async def _echo(opts: Options, needs: Needs, plan: CorePlan) -> AsyncIterator[Target]:
    server = await start_server("echo", {}, plan, quiet=opts.quiet)
    try:
        secret = secrets.token_bytes(32)
        tokens = _mint(secret, list(range(1, needs.users + 1)))
        yield Target(
            "echo",
            server.ws_url,
            None,
            tokens,
            list(range(1, needs.auctions + 1)),
            ProcessSampler(server.pid),
            server=server,
        )
    finally:
        await server.stop()
        _done_with(server, opts)


@asynccontextmanager
async def _bidserver(
    opts: Options, engine: str, needs: Needs, plan: CorePlan
) -> AsyncIterator[Target]:
    database = await BenchDatabase.create(opts.dsn, embedded=opts.embedded)
    proxy = PgProxy(database.dsn) if needs.db_proxy else None
    server: ServerProcess | None = None
    try:
        server_dsn = via_proxy(database.dsn, await proxy.start()) if proxy else database.dsn
        secret = secrets.token_hex(24)
        env = {
            "BIDSERVER_DATABASE_URL": server_dsn,
            "BIDSERVER_JWT_SECRET": secret,
            "BIDSERVER_WS_RATE_LIMIT": WS_RATE_LIMIT,
            "BIDSERVER_HTTP_RATE_LIMIT": "0",
            "BIDSERVER_ACK_MODE": needs.ack_mode,
            "BIDSERVER_LOG_LEVEL": opts.server_log_level,
        }
        if not opts.quiet:
            where = "embedded PostgreSQL" if opts.embedded else opts.dsn
            print(
                f"database: {database.name} on {where}" + (" via proxy" if proxy else ""),
                file=sys.stderr,
            )
        server = await start_server(engine, env, plan, quiet=opts.quiet)
        _check_engine(server, engine)
        seeded = await seed(
            database.dsn, users=needs.users, auctions=needs.auctions, vehicles=needs.vehicles
        )
        yield Target(
            engine,
            server.ws_url,
            server.http_url,
            _mint(secret.encode(), seeded.user_ids),
            seeded.auction_ids,
            ProcessSampler(server.pid),
            dsn=database.dsn,
            proxy=proxy,
            server=server,
        )
    finally:
        if server is not None:
            took = await server.stop()
            _done_with(server, opts)
            if took > 10 and not opts.quiet:
                print(
                    f"note: {engine} server took {took:.1f} s to stop after SIGTERM",
                    file=sys.stderr,
                )
        if proxy is not None:
            await proxy.close()
        await database.drop()


def _done_with(server: ServerProcess, opts: Options) -> None:
    if opts.keep_logs:
        print(f"server log: {server.log_path}", file=sys.stderr)
    else:
        server.remove_files()


def _check_engine(server: ServerProcess, engine: str) -> None:
    logged = server.logged_engine()
    if logged is not None and logged != engine:
        raise SystemExit(f"asked for engine {engine}, the server says it runs {logged}")
    if logged is None and engine != "actor":
        print(
            f"note: the server's `serving` log line names no engine; assuming {engine}",
            file=sys.stderr,
        )


async def auction_bases(ws_url: str, auction_ids: list[int]) -> list[int]:
    """Subscribe once to every auction (which also activates its actor) and return its
    minimum next bid: the first amount of the run."""
    if not auction_ids:
        return []
    try:
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
            return await _bases(ws_url, auction_ids)
    except TimeoutError:
        raise SystemExit(
            f"bench: no answer to `subscribe` from {ws_url} within {SUBSCRIBE_TIMEOUT_S:g} s"
            " (see the server log)"
        ) from None


async def _bases(ws_url: str, auction_ids: list[int]) -> list[int]:
    async with connect(ws_url, max_size=2**20, compression=None) as ws:
        for i, auction_id in enumerate(auction_ids):
            await ws.send(json.dumps({"type": "subscribe", "auctionId": auction_id, "ref": i}))
        bases: dict[int, int] = {}
        while len(bases) < len(auction_ids):
            message = json.loads(await ws.recv())
            ref = message.get("ref")
            if not isinstance(ref, int):
                continue
            if message.get("type") != "subscribed":
                raise SystemExit(f"auction {auction_ids[ref]}: {message}")
            snapshot = message["snapshot"]
            if snapshot.get("status") != "open":
                raise SystemExit(f"auction {auction_ids[ref]} is {snapshot.get('status')}")
            bases[ref] = int(snapshot["minimumNextBid"])
    return [bases[i] for i in range(len(auction_ids))]
