"""Expand/contract: the previous release's code runs on this commit's schema.

A blue/green switch runs the old release (blue) and the new one (green) against one
database at the same time, and green's tasks migrate it as they start. So every migration
must be backward compatible across one release: it may add (tables, nullable or defaulted
columns, indexes), never drop, rename or narrow what the previous release reads or writes.
Removing something is the contract step, one release after nothing uses it any more.

This test takes the previous release's code from git (the newest `v*` tag below HEAD, else
the commit in deploy/previous-release), migrates a new database with *this* commit's code,
starts the old code as a real node on it, places a bid through it, and reads that bid back
with a node of this commit. A second test reads every migration added since that release
and refuses destructive statements unless the file says why with `-- contract:`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
from websockets.asyncio.client import connect

from storage.migrate import migrate
from tests.cluster.nodeproc import (
    Node,
    _environment,
    _log_file,
    _stop,
    _wait_ready,
    free_port,
    running_node,
)
from tests.deploy.tools import REPO, missing
from tests.support import make_auction, make_user, token_for

DESTRUCTIVE = re.compile(
    r"\b(DROP\s+(TABLE|COLUMN|INDEX|TYPE|VIEW|SCHEMA)|RENAME\s+(COLUMN|TO)|"
    r"ALTER\s+COLUMN\s+\w+\s+(SET\s+DATA\s+)?TYPE|SET\s+NOT\s+NULL|TRUNCATE)\b",
    re.IGNORECASE,
)


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def previous_release() -> str:
    """The newest release tag below HEAD, else the pinned baseline commit."""
    tag = _git("describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD^")
    if tag:
        return _git("rev-parse", f"{tag}^{{commit}}")
    pinned = (REPO / "deploy" / "previous-release").read_text().split("\n")
    commit = next(line for line in pinned if line and not line.startswith("#"))
    if not _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"):
        missing(f"the previous release {commit} is not in this clone (fetch its history)")
    return commit


def _extract(commit: str, target: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "bidserver", "httpapi", "storage"],
        capture_output=True,
        check=True,
    )
    target.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


@contextlib.asynccontextmanager
async def old_node(code: Path, dsn: str, data_dir: Path) -> AsyncIterator[Node]:
    """`bidserver serve` from the old code, on this interpreter and its dependencies."""
    ws_port = free_port()
    log_path = _log_file(data_dir, ws_port)
    entry = (
        f"import sys; sys.path.insert(0, {str(code)!r}); import bidserver;"
        f" assert bidserver.__file__.startswith({str(code)!r}), bidserver.__file__;"
        " from bidserver.cli import main; sys.exit(main())"
    )
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            entry,
            "serve",
            env=_environment(dsn, data_dir, ws_port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )
    node = Node(process, ws_port, log_path)
    try:
        await _wait_ready(node)
        yield node
    finally:
        await _stop(node)


async def _bid(node: Node, auction_id: int, user_id: int, amount: int) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token_for(user_id)}"}
    async with connect(node.url, additional_headers=headers) as ws:
        message = {"type": "bid", "ref": 1, "auctionId": auction_id, "amount": amount}
        await ws.send(json.dumps({**message, "bidId": str(uuid.uuid4())}))
        async with asyncio.timeout(10):
            reply: dict[str, object] = json.loads(await ws.recv())
        return reply


async def _snapshot(node: Node, auction_id: int) -> dict[str, object]:
    async with connect(node.url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "auctionId": auction_id}))
        async with asyncio.timeout(10):
            reply = json.loads(await ws.recv())
        snapshot: dict[str, object] = reply["snapshot"]
        return snapshot


async def test_the_previous_release_serves_bids_on_the_new_schema(
    new_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    commit = previous_release()
    code = _extract(commit, tmp_path / "previous")
    dsn = await new_database()
    await migrate(dsn)  # green migrated the database first

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        auction_id, _ = await make_auction(pool)
        bidder, other = await make_user(pool), await make_user(pool)
        async with old_node(code, dsn, tmp_path / "blue") as blue:
            reply = await _bid(blue, auction_id, bidder, 1000)
        assert reply["type"] == "bid_result", reply
        assert reply["accepted"] is True
        async with running_node(dsn, tmp_path / "green") as green:
            snapshot = await _snapshot(green, auction_id)
            assert (snapshot["seq"], snapshot["currentPrice"]) == (1, 1000)
            following = await _bid(green, auction_id, other, 2000)
            assert (following["type"], following["seq"]) == ("bid_result", 2)
    finally:
        await pool.close()


def test_migrations_since_the_previous_release_only_expand() -> None:
    commit = previous_release()
    folder = "storage/migrations"
    added = _git("diff", "--name-only", "--diff-filter=AM", commit, "HEAD", "--", folder)
    for name in filter(None, added.splitlines()):
        sql = (REPO / name).read_text()
        code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
        found = DESTRUCTIVE.search(code)
        assert found is None or "-- contract:" in sql, (
            f"{name}: `{found and found[0]}` breaks the previous release during a blue/green"
            " switch; expand now, contract one release later (-- contract: why it is safe)"
        )


def test_the_expand_only_check_catches_destructive_statements() -> None:
    for statement in (
        "ALTER TABLE auctions DROP COLUMN reserve_price",
        "alter table users rename column email to mail",
        "ALTER TABLE bids ALTER COLUMN amount TYPE numeric",
        "ALTER TABLE vehicles ALTER COLUMN color SET NOT NULL",
        "DROP TABLE refresh_tokens",
    ):
        assert DESTRUCTIVE.search(statement), statement
    for statement in (
        "ALTER TABLE auctions ADD COLUMN note TEXT",
        "CREATE INDEX vehicles_make_idx ON vehicles (make)",
        "ALTER TABLE auctions ADD COLUMN views BIGINT NOT NULL DEFAULT 0",
    ):
        assert DESTRUCTIVE.search(statement) is None, statement
