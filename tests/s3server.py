"""A real S3 endpoint for tests: moto's server on a free loopback port, in this process.

It speaks S3's HTTP API (signatures, conditional writes, error codes), so the S3 adapter is
tested through aiobotocore and aiohttp as in production, not against a mock object. The
credentials are made up: moto checks their form, not their value.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Final

from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@contextmanager
def s3_server() -> Iterator[str]:
    """The endpoint URL of a fresh S3 server, stopped on exit."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@asynccontextmanager
async def client(endpoint: str) -> AsyncIterator[S3Client]:
    session = get_session()
    async with session.create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    ) as s3:
        yield s3


async def make_bucket(endpoint: str) -> str:
    """A new, empty bucket of its own for one test."""
    name = f"photos-{uuid.uuid4().hex[:12]}"
    async with client(endpoint) as s3:
        await s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
    return name


async def keys(endpoint: str, bucket: str) -> list[str]:
    """Every object's key in the bucket (what a test checks was stored, or not)."""
    async with client(endpoint) as s3:
        listed = await s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))
