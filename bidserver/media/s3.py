"""The S3 adapter of the media store port (aiobotocore): photos in a bucket, read through a CDN.

Chosen when `BIDSERVER_MEDIA_BUCKET` is set (`bidserver.mediastores`). Objects are keyed by
their media name at the bucket's root, written once (`If-None-Match: *`, so two nodes storing
the same photo cannot both think they made it) with the immutable cache header, so a CDN in
front of the bucket (CloudFront with origin access control, deploy/terraform/modules/photos)
serves `{public_url}/{name}` for ever. Without a public URL, `url` is this node's
`/media/{name}`, which reads the object from the bucket.

Credentials, region and endpoint come from the AWS SDK's own chain: the task role on ECS,
`AWS_DEFAULT_REGION`, and `AWS_ENDPOINT_URL_S3` for an S3-compatible server (MinIO, a test's
moto). Every driver failure becomes the port's `MediaUnavailable`, with the driver's error
as its cause; a missing object is `None`, an object already there is `False`.

The bucket policy a node needs is exactly `IAM_ACTIONS` (tests/deploy checks the Terraform
task role against it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from bidserver.media.store import (
    IMMUTABLE,
    NAME,
    MediaUnavailable,
    content_type,
    media_path,
)

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# What each method calls, as IAM actions. `s3:ListBucket` calls nothing: without it S3
# answers a missing key with 403 instead of 404, and `get` could not tell absent from denied.
IAM_ACTIONS: Final = frozenset({"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket"})
_EXISTS: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})
ATTEMPTS: Final = 3  # a photo request waits at most ~(connect + read) x attempts, then 503


def _config(attempts: int) -> AioConfig:
    return AioConfig(
        connect_timeout=3,
        read_timeout=10,
        retries={"max_attempts": attempts, "mode": "standard"},
        max_pool_connections=16,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _translated(doing: str, name: str) -> Iterator[None]:
    """Any failure of the SDK or its transport is the port's `MediaUnavailable`."""
    try:
        yield
    except ClientError as exc:
        raise MediaUnavailable(f"could not {doing} {name} in S3: {_code(exc)}") from exc
    except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
        raise MediaUnavailable(f"could not {doing} {name} in S3: {exc}") from exc


class S3MediaStore:
    """One bucket; a client opened on first use and closed by `aclose`."""

    def __init__(
        self,
        bucket: str,
        public_url: str | None = None,
        *,
        endpoint_url: str | None = None,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.bucket = bucket
        self.public_url = public_url.rstrip("/") if public_url else None
        self._endpoint_url = endpoint_url
        self._config = _config(attempts)
        self._client: S3Client | None = None
        self._exits = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()

    async def _s3(self) -> S3Client:
        async with self._opening:
            if self._client is None:
                with _translated("connect to", self.bucket):
                    self._client = await self._exits.enter_async_context(
                        get_session().create_client(
                            "s3", endpoint_url=self._endpoint_url, config=self._config
                        )
                    )
            return self._client

    async def put(self, name: str, data: bytes) -> bool:
        if NAME.fullmatch(name) is None:
            raise ValueError(f"not a media name: {name[:80]!r}")
        s3 = await self._s3()
        with _translated("store", name):
            try:
                await s3.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=data,
                    ContentType=content_type(name),
                    CacheControl=IMMUTABLE,
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                if _code(exc) in _EXISTS:
                    return False
                raise
        return True

    async def get(self, name: str) -> bytes | None:
        if NAME.fullmatch(name) is None:
            return None
        s3 = await self._s3()
        with _translated("read", name):
            try:
                found = await s3.get_object(Bucket=self.bucket, Key=name)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return None
                raise
            async with found["Body"] as body:
                return await body.read()

    async def delete(self, name: str) -> None:
        if NAME.fullmatch(name) is None:
            raise ValueError(f"not a media name: {name[:80]!r}")
        s3 = await self._s3()
        with _translated("delete", name):
            await s3.delete_object(Bucket=self.bucket, Key=name)

    def url(self, name: str) -> str:
        if self.public_url is None:
            return media_path(name)
        return f"{self.public_url}/{name}"

    async def aclose(self) -> None:
        async with self._opening:
            self._client = None
            await self._exits.aclose()
