"""The media store a node and `seed-demo` use, chosen by the settings, and its errors' mapping.

`BIDSERVER_MEDIA_BUCKET` set: the S3 adapter (photos in the bucket, linked at
`BIDSERVER_MEDIA_URL` when a CDN fronts it); unset: `DATA_DIR/media` on this host. The S3
driver is imported only when a bucket is configured, so a node without one never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bidserver.config import Settings
from bidserver.errors import Unavailable
from bidserver.media.store import MediaStore, MediaUnavailable, local_store

log = logging.getLogger("bidserver.media")


def media_store(settings: Settings) -> MediaStore:
    if settings.media_bucket is None:
        return local_store(settings.data_dir)
    from bidserver.media.s3 import S3MediaStore

    return S3MediaStore(settings.media_bucket, settings.media_url)


@contextmanager
def translate_media() -> Iterator[None]:
    """The store's `MediaUnavailable` is the contract's `unavailable` (503: try again)."""
    try:
        yield
    except MediaUnavailable as exc:
        log.warning("photo store unavailable", extra={"error": str(exc)})
        raise Unavailable("the photo store is unavailable; try again") from exc
