"""The JWT key of an embedded (single-machine, no setup) node, generated once into its data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_FILE = "jwt_secret"


def load_or_create(data_dir: Path) -> bytes:
    """Reuse the key across restarts so issued tokens stay valid; create it 0600 otherwise."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / _FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()
