"""The `bidserver` console script (CONTRACT §1): commands, their flags and their help."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from bidserver import clihelp
from bidserver.config import DEFAULTS, SettingError, Settings, load_settings

_SETTINGS_NOTE = (
    "Every setting is an environment variable; a flag of the same name wins over it"
    " (--ws-port 9000, or --BIDSERVER_WS_PORT 9000)."
)


def _help(text: str, default: str | None, env: str | None = None) -> str:
    where = f"env {env}; " if env else ""
    tail = f"{where}default: {default}" if default is not None else f"{where}required"
    # argparse expands %-formats in help: a literal percent sign must be doubled.
    return f"{text} [{tail}]".replace("%", "%%")


Groups = dict[str, argparse._ArgumentGroup]


def _group(parser: argparse.ArgumentParser, groups: Groups, title: str) -> argparse._ArgumentGroup:
    if title not in groups:
        groups[title] = parser.add_argument_group(title)
    return groups[title]


def _add_settings(
    parser: argparse.ArgumentParser, names: Iterable[str], groups: Groups | None = None
) -> None:
    """One flag per setting, in titled groups; the variable's own name is a hidden alias."""
    groups = {} if groups is None else groups
    chosen = sorted(names, key=lambda n: clihelp.GROUP_ORDER.index(clihelp.describe(n).group))
    for name in chosen:
        info = clihelp.describe(name)
        group = _group(parser, groups, info.group)
        text = _help(info.text, clihelp.default_text(name), env=name)
        group.add_argument(clihelp.flag(name), dest=name, metavar=info.metavar, help=text)
        parser.add_argument(f"--{name}", dest=name, help=argparse.SUPPRESS)


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    epilog: str = _SETTINGS_NOTE,
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
    )


def _serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = _command(
        sub,
        "serve",
        "run a node",
        "Run a node: WebSocket gateway, auction actors and REST sidecar. It migrates the"
        " database first, and stops on SIGTERM or Ctrl-C after flushing every accepted bid.",
    )
    groups: Groups = {}
    node = _group(serve, groups, clihelp.NODE)
    node.add_argument(
        "--role",
        choices=("all", "ws", "http"),
        default="all",
        help=_help(
            "all: gateway, actors and REST sidecar in one process; ws: gateway and actors"
            " only; http: REST sidecar only (owns no auctions, routes bids to their owner)",
            "all",
        ),
    )
    node.add_argument(
        "--engine",
        choices=("actor", "rowlock"),
        default="actor",
        help=_help(
            "actor: one in-memory actor per live auction (the product); rowlock: every bid"
            " one SELECT … FOR UPDATE transaction, the benchmark's baseline, not for production",
            "actor",
        ),
    )
    _add_settings(serve, DEFAULTS, groups)


def _database_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    extra: tuple[str, ...] = (),
) -> argparse.ArgumentParser:
    parser = _command(
        sub,
        name,
        summary,
        description + " Works beside a running node on the same data dir.",
        "The database is found as `serve` finds it; the flags win over the environment.",
    )
    _add_settings(parser, (*clihelp.DATABASE_SETTINGS, *extra))
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bidserver",
        description="Real-time auction server for vehicle marketplaces.",
        epilog="`bidserver COMMAND --help` describes a command's flags. " + _SETTINGS_NOTE,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    _serve(sub)
    _database_command(
        sub, "migrate", "apply the schema to the database", "Apply the schema; idempotent."
    )
    seed = _database_command(
        sub,
        "seed-demo",
        "load the demo: logins, a catalogue and live auctions",
        "Load the demo logins, a used-car catalogue and live auctions; run again, it tops"
        " the open auctions back up and changes nothing else.",
        clihelp.MEDIA_SETTINGS,  # where the demo photos go
    )
    seed.add_argument_group("demo").add_argument(
        "--reset",
        action="store_true",
        help=_help(
            "put the demo back as new: delete the demo's auctions (with their bids) and"
            " catalogue, seed them afresh and give the demo logins their demo passwords",
            "off",
        ),
    )
    backup = _database_command(
        sub,
        "backup",
        "write the whole database to FILE (pg_dump)",
        "Write a pg_dump (custom format, no owners) of the database to FILE while nodes"
        " serve; every bid acknowledged before it began is in it.",
    )
    backup.add_argument("file", metavar="FILE", help=_help("where to write the dump", None))
    restore = _database_command(
        sub,
        "restore",
        "load FILE into the database, which must be empty",
        "Restore a `bidserver backup` FILE into an empty database (one that already holds"
        " bidserver's tables is refused), then migrate it to this release's schema.",
    )
    restore.add_argument(
        "file", metavar="FILE", help=_help("a file written by `bidserver backup`", None)
    )
    _create_user_parser(sub)
    return parser


def _create_user_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = _database_command(sub, "create-user", "create a user", "Create a user account.")
    account = user.add_argument_group("account")
    account.add_argument("--email", required=True, help=_help("login e-mail", None))
    account.add_argument("--password", required=True, help=_help("at least 10 characters", None))
    account.add_argument(
        "--role",
        choices=("bidder", "seller", "admin"),
        required=True,
        help=_help("bidders bid, sellers list vehicles, admins cancel auctions", None),
    )
    account.add_argument(
        "--display-name",
        default=None,
        help=_help("name shown to others", "the e-mail's local part"),
    )
    account.add_argument(
        "--json",
        action="store_true",
        help=_help("print the new account as one JSON object, for scripts", "a sentence"),
    )


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {name: getattr(args, name, None) for name in DEFAULTS}
    if args.command == "serve":
        return load_settings(overrides=overrides, role=args.role, engine=args.engine)
    return load_settings(overrides=overrides, need_secret=False)


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
