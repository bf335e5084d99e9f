"""`bidserver backup FILE` and `bidserver restore FILE`: a logical copy of the whole database.

pg_dump reads one consistent snapshot, taken when it starts, while the node keeps serving:
in durable mode a bid is acknowledged only after it commits, so every bid acknowledged
before a backup began is in it. The file is pg_dump's custom format (compressed, restorable
selectively with pg_restore), written without owners or grants, so it restores into any
empty database under any role (a new RDS instance, a laptop's embedded server).

`restore` refuses a database that already holds bidserver's tables: restoring over live
data would mix two histories. Start-up migrates a restored database like any other, so a
backup taken by an older release restores under a newer one.

The PostgreSQL client programs come from pgserver (the `embedded` extra ships PostgreSQL 16's
pg_dump and pg_restore, which read servers up to 16) when it is installed, else from PATH.
A password in the URL is passed to them in the environment, never on their command line.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


class BackupError(RuntimeError):
    """A backup or restore that did not complete; the message says why in one line."""


def pg_program(name: str) -> str:
    """pgserver's copy of a PostgreSQL client program, else the one on PATH."""
    spec = importlib.util.find_spec("pgserver")  # found without importing its side effects
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(folder) / "pginstall" / "bin" / name
        if bundled.exists():
            return str(bundled)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client programs")
    return found


def split_password(dsn: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries it instead."""
    parts = urlsplit(dsn)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if parts.password is None:
        return dsn, env
    env["PGPASSWORD"] = parts.password
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" if user else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), env


async def _run(command: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        lines = stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise BackupError(f"{Path(command[0]).name} exited {process.returncode}: {lines[-1]}")


async def backup(dsn: str, target: Path) -> int:
    """Dump the database to `target` (written whole or not at all); returns its size."""
    url, env = split_password(dsn)
    partial = target.with_name(target.name + ".partial")
    command = [
        pg_program("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={partial}",
        f"--dbname={url}",
    ]
    try:
        await _run(command, env)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size  # noqa: ASYNC240


async def _holds_bidserver_tables(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        found: bool = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename IN ('schema_migrations', 'auctions', 'auction_events'))"
        )
        return found
    finally:
        await conn.close()


async def restore(dsn: str, source: Path) -> None:
    """Restore `source` into the (empty) database at `dsn`, in one transaction."""
    if not source.is_file():  # noqa: ASYNC240
        raise BackupError(f"{source}: no such file")
    if await _holds_bidserver_tables(dsn):
        raise BackupError("the database already holds bidserver's tables; use an empty one")
    url, env = split_password(dsn)
    command = [
        pg_program("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={url}",
        str(source),
    ]
    await _run(command, env)
