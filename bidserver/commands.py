"""What each subcommand of the console script does, once its settings are valid."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import uvloop

from bidserver.config import SettingError, Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    handlers: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]] = {
        "serve": _serve,
        "migrate": _migrate,
        "seed-demo": _seed_demo,
        "create-user": _create_user,
        "backup": _backup,
        "restore": _restore,
    }
    try:
        return uvloop.run(handlers[args.command](args, settings))
    except SettingError as exc:
        print(f"bidserver: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Whatever else stops a command still gets one line; the traceback is for debugging.
        if settings.log_level == "debug":
            traceback.print_exc()
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        hint = "" if settings.log_level == "debug" else " (BIDSERVER_LOG_LEVEL=debug shows why)"
        print(f"bidserver: {args.command} failed: {reason}{hint}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bidserver.node import serve

    return await serve(settings)


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bidserver.database import prepare

    await prepare(settings)
    print("bidserver: schema is up to date")
    return 0


async def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    import asyncpg

    from bidserver import demo
    from bidserver.accounts.passwords import hash_password
    from bidserver.database import prepare
    from bidserver.errors import BidserverError
    from bidserver.mediastores import media_store
    from bidserver.seeding import SeedContext, seed_demo

    dsn = await prepare(settings)
    now = datetime.now(UTC)
    hashes = {user.email: await hash_password(user.password) for user in demo.DEMO_USERS}
    print("bidserver: resetting the demo..." if args.reset else "bidserver: seeding the demo...")
    conn = await asyncpg.connect(dsn)
    media = media_store(settings)
    try:
        ctx = SeedContext(conn, now, demo.catalogue(now), hashes, reset=args.reset, media=media)
        lines = await seed_demo(ctx)
    except BidserverError as exc:
        print(f"bidserver: seed-demo: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
        await media.aclose()
    print("demo logins (email / password / role):")
    for seeded in ctx.users:
        note = "" if seeded.created or args.reset else "  (already present; password unchanged)"
        user = seeded.user
        print(f"  {user.email:<24} {user.password:<22} {user.role:<6} id {seeded.id}{note}")
    for line in lines:
        print(line)
    return 0


async def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from bidserver.accounts.passwords import email_problem, hash_password, password_problem
    from bidserver.database import prepare
    from bidserver.errors import BidserverError
    from storage.pool import create_pool
    from storage.users import create_user

    email, password = args.email.strip(), args.password
    problem = email_problem(email) or password_problem(password)
    display_name = (args.display_name or email.partition("@")[0]).strip()
    if problem is None and not 0 < len(display_name) <= 100:
        problem = "display name must be 1 to 100 characters"
    if problem is not None:
        print(f"bidserver: create-user: {problem}", file=sys.stderr)
        return 1
    dsn = await prepare(settings)
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        user = await create_user(
            pool,
            email=email,
            password_hash=await hash_password(password),
            display_name=display_name,
            role=args.role,
        )
    except BidserverError as exc:
        print(f"bidserver: create-user: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    if args.json:
        print(json.dumps({"id": user.id, "email": user.email, "role": user.role}))
    else:
        print(f"created {user.role} {user.email} with id {user.id}")
    return 0


async def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from bidserver.backup import BackupError, backup
    from bidserver.database import prepare

    dsn = await prepare(settings)
    try:
        size = await backup(dsn, Path(args.file))
    except BackupError as exc:
        print(f"bidserver: backup: {exc}", file=sys.stderr)
        return 1
    print(f"bidserver: backup written to {args.file} ({size} bytes)")
    return 0


async def _restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore without migrating first: the dump brings its own schema and ledger."""
    import asyncio
    from pathlib import Path

    from bidserver.backup import BackupError, restore
    from bidserver.database import START_TIMEOUT_S, resolve_dsn
    from storage.migrate import migrate
    from storage.pool import wait_for_database

    dsn = await asyncio.to_thread(resolve_dsn, settings)
    try:
        await wait_for_database(dsn, START_TIMEOUT_S)
    except Exception as exc:
        raise SettingError("BIDSERVER_DATABASE_URL", str(exc) or "database unreachable") from exc
    try:
        await restore(dsn, Path(args.file))
    except BackupError as exc:
        print(f"bidserver: restore: {exc}", file=sys.stderr)
        return 1
    applied = await migrate(dsn)  # a backup from an older release comes up to this schema
    migrated = f"; migrated {', '.join(applied)}" if applied else ""
    print(f"bidserver: restored {args.file}{migrated}")
    return 0
