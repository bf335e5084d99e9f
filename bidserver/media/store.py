"""The media store port, its errors, and its local-disk adapter.

Names are derived from the content (`content_name`), so a stored object never changes
under its name and `/media/{name}` can be cached for ever. A vehicle keeps its photos as
`/media/{name}` paths (`media_path`) whatever the store, so moving the store or its public
address rewrites no row; `url` says where a browser fetches an object today. A deployment on
several hosts swaps `LocalMediaStore` for the S3 adapter (`bidserver.media.s3`), which
answers the same methods. An adapter translates its driver's failures into `MediaUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

MEDIA_PATH: Final = "/media/"
NAME: Final = re.compile(r"[0-9a-f]{32}(?:-thumb)?\.(?:jpg|png|webp)")
CONTENT_TYPES: Final = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
IMMUTABLE: Final = "public, max-age=31536000, immutable"  # a name's bytes never change


class MediaUnavailable(Exception):
    """The store could not be reached or refused the operation: its outcome is unknown.

    The adapter's driver error stays as `__cause__` for the logs."""


def media_path(name: str) -> str:
    """The stable reference to a stored object, kept in a vehicle's `photos`."""
    return MEDIA_PATH + name


def content_name(data: bytes, suffix: str, *, thumb: bool = False) -> str:
    """The name an object of this content is stored under (`suffix` without its dot)."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    return f"{digest}{'-thumb' if thumb else ''}.{suffix}"


def content_type(name: str) -> str:
    return CONTENT_TYPES[name.rpartition(".")[2]]


class MediaStore(Protocol):
    async def put(self, name: str, data: bytes) -> bool:
        """Store `data` under `name`; False when an object of that name was there already."""

    async def get(self, name: str) -> bytes | None:
        """The object's bytes, or None when there is none of that name."""

    async def delete(self, name: str) -> None:
        """Remove the object if it exists."""

    def url(self, name: str) -> str:
        """Where a browser fetches the object: this node's `/media/{name}`, or a CDN's URL."""

    async def aclose(self) -> None:
        """Release connections; the store may be used again afterwards (it reconnects)."""


class LocalMediaStore:
    """Files in one directory (created on the first write), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if NAME.fullmatch(name) is None:
            raise ValueError(f"not a media name: {name[:80]!r}")
        return self.root / name

    async def put(self, name: str, data: bytes) -> bool:
        path = self._path(name)
        with _disk_errors("store"):
            return await asyncio.to_thread(self._put, path, data)

    def _put(self, path: Path, data: bytes) -> bool:
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.link(tmp, path)  # atomic, and refused when another put made it meanwhile
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return True

    async def get(self, name: str) -> bytes | None:
        if NAME.fullmatch(name) is None:
            return None
        with _disk_errors("read"):
            return await asyncio.to_thread(self._get, self.root / name)

    @staticmethod
    def _get(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    async def delete(self, name: str) -> None:
        path = self._path(name)
        with _disk_errors("delete"):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    def url(self, name: str) -> str:
        return media_path(name)

    async def aclose(self) -> None:
        return None

    def names(self) -> list[str]:
        """Every stored object's name (tests and tools; an object store would page this)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if NAME.fullmatch(p.name))


@contextlib.contextmanager
def _disk_errors(doing: str) -> Iterator[None]:
    """A full disk or a permission the node lacks is the port's `MediaUnavailable`."""
    try:
        yield
    except OSError as exc:
        raise MediaUnavailable(f"could not {doing} the photo on disk: {exc.strerror}") from exc


def local_store(data_dir: Path) -> LocalMediaStore:
    """Where a node (and `seed-demo`) keeps photos: `DATA_DIR/media`."""
    return LocalMediaStore(data_dir / "media")
