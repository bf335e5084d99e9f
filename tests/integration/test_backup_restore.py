"""The restore drill (issue 15): back up while bids flow, restore into a new database, serve.

A real node takes bids from several bidders; `bidserver backup FILE` runs beside it while
they keep bidding; `bidserver restore FILE` loads the file into a new empty database; then
every bid acknowledged before the backup began must be there with the seq its bidder was
told, the log must be dense, and a node started on the restored database must serve the next
bid right after the restored ones.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from tests.bidload import (
    Load,
    Outcome,
    check_acked_stored,
    check_dense,
    check_only_known_stored,
    stored_bids,
)
from tests.cluster.nodeproc import _command, running_node
from tests.support import SECRET, make_auction, make_user

BIDDERS = 4
AUCTIONS = 2
ACKS_BEFORE_BACKUP = 60
TIMEOUT_S = 60.0


async def _cli(dsn: str, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
    env.update(BIDSERVER_DATABASE_URL=dsn, BIDSERVER_JWT_SECRET=SECRET.decode())
    process = await asyncio.create_subprocess_exec(
        *_command(),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(TIMEOUT_S):
        out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


async def test_restore_drill(
    db: asyncpg.Pool,
    pg_dsn: str,
    new_database: Callable[[], Awaitable[str]],
    tmp_path: Path,
) -> None:
    auctions = [(await make_auction(db))[0] for _ in range(AUCTIONS)]
    users = [await make_user(db) for _ in range(BIDDERS)]
    dump = tmp_path / "bidserver.dump"
    load = Load(auctions, pace_s=0.005)
    loop = asyncio.get_running_loop()

    async with running_node(pg_dsn, tmp_path / "node") as node, node.bidders(users) as clients:
        bidders = [asyncio.create_task(load.bidder(c, i)) for i, c in enumerate(clients)]
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await load.until(lambda: len(load.accepted()) >= ACKS_BEFORE_BACKUP)
            acked_before = [o for o in load.outcomes if o.accepted]
            started = loop.time()
            code, out = await _cli(pg_dsn, "backup", str(dump))
            finished = loop.time()
            assert code == 0, out
        finally:
            load.stop.set()
            async with asyncio.timeout(TIMEOUT_S):
                await asyncio.gather(*bidders)
        during = [o for o in load.accepted(sent_after=started) if o.sent_at <= finished]
        assert during, "no bid was accepted while the backup ran"

    restored_dsn = await new_database()
    code, out = await _cli(restored_dsn, "restore", str(dump))
    assert code == 0, out
    # A second restore into the same database is refused, not mixed in.
    code, out = await _cli(restored_dsn, "restore", str(dump))
    assert code == 1
    assert "already holds bidserver's tables" in out

    restored = await asyncpg.create_pool(restored_dsn, min_size=1, max_size=2)
    try:
        stored = await stored_bids(restored, auctions)
        assert check_acked_stored(acked_before, stored) == len(acked_before)
        check_only_known_stored(load.outcomes, stored)
        last_seq = {a: await check_dense(restored, a) for a in auctions}

        async with (
            running_node(restored_dsn, tmp_path / "restored") as node,
            node.bidders(users) as clients,
        ):
            auction = auctions[0]
            leader = await restored.fetchval(
                "SELECT leader_id FROM auctions WHERE id = $1", auction
            )
            client = next(c for c in clients if c.user_id != leader)
            outcome = Outcome(
                client.user_id, auction, str(uuid.uuid4()), load.next_amount(auction) * 10, 0.0
            )
            async with asyncio.timeout(TIMEOUT_S):
                await client.send(outcome)
            assert outcome.accepted, outcome.reply
            assert outcome.reply is not None
            assert outcome.reply["seq"] == last_seq[auction] + 1
    finally:
        await restored.close()


async def test_restore_of_a_missing_file_is_one_line(
    new_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    code, out = await _cli(await new_database(), "restore", str(tmp_path / "missing.dump"))
    assert code == 1
    assert out == f"bidserver: restore: {tmp_path / 'missing.dump'}: no such file\n"
