"""What each subcommand of the console script does, once its settings are valid."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
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
    print(
        "bidserver: seed-demo is not available yet: it arrives with the REST sidecar",
        file=sys.stderr,
    )
    return 2


async def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    print(
        "bidserver: create-user is not available yet: it arrives with the REST sidecar",
        file=sys.stderr,
    )
    return 2
