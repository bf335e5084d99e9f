"""An embedded PostgreSQL for laptops and tests, so `bidserver serve` needs no database set up.

pgserver runs the server from its own binaries under a private data directory, reached over
a unix socket only. When run as root it drops to a `pgserver` system user by itself. With
`cleanup_mode="stop"` the server stops when the last process holding a handle exits; other
processes on the same data dir (e.g. `bidserver migrate` beside a running node) reuse it.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

DATABASE = "bidserver"

# Held so the handles (and their atexit clean-up) live as long as the process uses them.
_SERVERS: dict[Path, PostgresServer] = {}

_CREATE_DATABASE = f"""\\set ON_ERROR_STOP on
SELECT 'CREATE DATABASE {DATABASE}'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{DATABASE}')\\gexec
"""


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the server under `data_dir` and return a DSN for its database."""
    pgdata = data_dir.expanduser().resolve() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _SERVERS.get(pgdata)
    if server is None:
        server = _get_server(pgdata)
        _SERVERS[pgdata] = server
    _ensure_database(server)
    return server.get_uri(DATABASE)


def stop_embedded_postgres(data_dir: Path) -> None:
    """Let go of this process's handle early (tests); the server stops if no one else holds it."""
    server = _SERVERS.pop(data_dir.expanduser().resolve() / "pgdata", None)
    if server is not None:
        server.cleanup()


def _get_server(pgdata: Path) -> PostgresServer:
    """Import pgserver quietly: its INFO chatter and platformdirs' runtime-dir warning are noise."""
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (containers, CI, root) platformdirs warns at import and falls
        # back to a private per-user temp dir, which is all pgserver needs for its lock file.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        from pgserver.postgres_server import get_server
    return get_server(pgdata, cleanup_mode="stop")


def _ensure_database(server: PostgresServer) -> None:
    """Create the database once; a concurrent creator that loses the race just re-checks."""
    from pgserver._commands import POSTGRES_BIN_PATH

    command = [str(POSTGRES_BIN_PATH / "psql"), "--no-psqlrc", "--quiet", server.get_uri()]
    for _attempt in (1, 2):
        done = subprocess.run(
            command, input=_CREATE_DATABASE, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return
    raise RuntimeError(f"cannot create database {DATABASE!r}: {done.stderr.strip()}")
