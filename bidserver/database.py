"""Where the node's PostgreSQL is: the configured URL, or an embedded server in the data dir."""

from __future__ import annotations

import asyncio

from bidserver.config import SettingError, Settings
from storage.migrate import apply_migrations
from storage.pool import wait_for_database

START_TIMEOUT_S = 30.0


def resolve_dsn(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url
    from storage.embedded import start_embedded_postgres  # needs the `embedded` extra

    try:
        return start_embedded_postgres(settings.data_dir)
    except Exception as exc:
        raise SettingError("BIDSERVER_DATA_DIR", f"embedded PostgreSQL failed: {exc}") from exc


async def prepare(settings: Settings) -> str:
    """Resolve, wait up to 30 s for, and migrate the database; returns its DSN."""
    dsn = await asyncio.to_thread(resolve_dsn, settings)
    try:
        await wait_for_database(dsn, START_TIMEOUT_S)
    except Exception as exc:
        name = "BIDSERVER_DATABASE_URL"
        problem = str(exc).removeprefix(name).lstrip(": ") or "database unreachable"
        raise SettingError(name, problem) from exc
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    return dsn
