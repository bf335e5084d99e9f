"""A data dir belongs to one node: an exclusive lock held for the life of the process.

The lock is `flock` on `DATA_DIR/node.lock`, so the kernel drops it when the process ends
however it ends (`kill -9` included): there is no stale lock to clean up. The file tells the
next comer who holds it. Only serving processes that own auctions take it; `migrate`,
`seed-demo` and `create-user` work beside a running node, and an `http`-role sidecar, which
owns nothing, may share its node's data dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from bidserver.config import SettingError

LOCK_FILE = "node.lock"

_HELD: dict[Path, int] = {}  # lock path -> open descriptor, kept for the process's life


def hold(data_dir: Path, **about: object) -> Path:
    """Take the data dir or stop with one line naming the setting and the holder."""
    path = _lock_path(data_dir)
    if path in _HELD:
        return path
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children
    except OSError as exc:
        raise SettingError("BIDSERVER_DATA_DIR", f"cannot use {data_dir}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise SettingError(
            "BIDSERVER_DATA_DIR",
            f"{data_dir} is held by another running node ({holder}); stop it, or give this"
            " node its own data dir",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), **about}).encode())
    _HELD[path] = fd
    return path


def release(data_dir: Path) -> None:
    """Let go early (tests); a process that ends lets go by itself."""
    fd = _HELD.pop(_lock_path(data_dir), None)
    if fd is not None:
        os.close(fd)


def _lock_path(data_dir: Path) -> Path:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return data_dir.resolve() / LOCK_FILE
    except OSError as exc:
        raise SettingError("BIDSERVER_DATA_DIR", f"cannot use {data_dir}: {exc.strerror}") from exc


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        about = json.loads(os.pread(fd, 4096, 0) or b"{}")
        if isinstance(about, dict) and about:
            return ", ".join(f"{key} {value}" for key, value in about.items())
    return "its pid is unknown"
