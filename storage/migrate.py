"""Schema migrations: numbered SQL files applied once each, in order.

Every node applies migrations at start-up and `bidserver migrate` may run beside them, so
each file runs in its own transaction behind one advisory lock: a second runner waits,
then sees the version recorded and skips it. A file therefore must be transactional SQL
(no `CREATE INDEX CONCURRENTLY`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from storage.errors import translate
from storage.pool import AnyConnection

# Any constant works as long as every runner uses the same one: "bidserve" in ASCII.
MIGRATION_LOCK_KEY = 0x6269_6473_6572_7665

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<slug>[a-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Read the packaged files, so an installed wheel migrates exactly like a checkout."""
    folder = resources.files("storage").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        if version in found:
            raise RuntimeError(f"two migrations numbered {version:04d}: {entry.name}")
        name = entry.name.removesuffix(".sql")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def apply_migrations(conn: AnyConnection) -> list[str]:
    """Apply what this database lacks; returns the names applied (empty when up to date)."""
    applied: list[str] = []
    with translate():
        for migration in load_migrations():
            if await _apply_one(conn, migration):
                applied.append(migration.name)
    return applied


async def _apply_one(conn: AnyConnection, migration: Migration) -> bool:
    async with conn.transaction():
        # Held to commit: a concurrent runner blocks here, then reads the committed ledger.
        await conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        await conn.execute(_CREATE_LEDGER)
        done = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
            migration.version,
        )
        if done:
            return False
        await conn.execute(migration.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            migration.version,
            migration.name,
        )
    return True


async def migrate(dsn: str) -> list[str]:
    """One-shot form for the CLI and start-up: connect, apply, disconnect."""
    with translate():
        conn = await asyncpg.connect(dsn)
        try:
            return await apply_migrations(conn)
        finally:
            await conn.close()
