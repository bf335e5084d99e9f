"""The `bidserver` console script (CONTRACT §1)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bidserver.config import DEFAULTS, SettingError, Settings, load_settings


def _flag(name: str) -> str:
    return "--" + name.removeprefix("BIDSERVER_").lower().replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bidserver", description="Real-time auction server for vehicle marketplaces."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run a node")
    serve.add_argument("--role", choices=("all", "ws", "http"), default="all")
    serve.add_argument("--engine", choices=("actor", "rowlock"), default="actor")
    for name in DEFAULTS:
        # Each setting has a flag of the same name, in both spellings.
        serve.add_argument(_flag(name), f"--{name}", dest=name, metavar="VALUE")
    sub.add_parser("migrate", help="apply the schema to the configured database")
    sub.add_parser("seed-demo", help="load demo users, vehicles and live auctions")
    user = sub.add_parser("create-user", help="create a user")
    user.add_argument("--email", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--role", choices=("bidder", "seller", "admin"), required=True)
    user.add_argument("--display-name", default=None)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {name: getattr(args, name, None) for name in DEFAULTS}
    if args.command == "serve":
        return load_settings(overrides=overrides, role=args.role, engine=args.engine)
    return load_settings(overrides=overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingError as exc:
        print(f"bidserver: {exc}", file=sys.stderr)
        return 2
    from bidserver import commands  # deferred: --help stays fast

    return commands.run(args, settings)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
