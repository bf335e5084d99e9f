"""What each subcommand of the console script does, once its settings are valid."""

from __future__ import annotations

import argparse
import sys
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
    }
    try:
        return uvloop.run(handlers[args.command](args, settings))
    except SettingError as exc:
        print(f"bidserver: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


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
    from storage.seed import seed_demo

    dsn = await prepare(settings)
    now = datetime.now(UTC)
    vehicles = demo.catalogue(now)
    auctions = demo.auctions(vehicles, now)
    print(f"bidserver: seeding demo data ({len(vehicles)} vehicles, {len(auctions)} auctions)...")
    users = [(user, await hash_password(user.password)) for user in demo.DEMO_USERS]
    conn = await asyncpg.connect(dsn)
    try:
        result = await seed_demo(conn, users, vehicles, auctions)
    except BidserverError as exc:
        print(f"bidserver: seed-demo: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    print("demo logins (email / password / role):")
    for seeded in result.users:
        note = "" if seeded.created else "  (already present; password unchanged)"
        user = seeded.user
        print(f"  {user.email:<24} {user.password:<22} {user.role:<6} id {seeded.id}{note}")
    state = "created" if result.catalogue_created else "already present, left as is"
    print(
        f"catalogue {state}: {result.vehicles} vehicles, {result.open_auctions} open and"
        f" {result.scheduled_auctions} scheduled auctions"
    )
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
    print(user.id)
    print(f"bidserver: created {user.role} {user.email} with id {user.id}", file=sys.stderr)
    return 0
