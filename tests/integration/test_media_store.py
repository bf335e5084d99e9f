"""The media store port's contract, held by both adapters: local disk and S3.

The S3 adapter talks to a real S3 endpoint (moto's server, tests/s3server.py) over HTTP, so
its conditional writes, error codes and translation into the port's `MediaUnavailable` are
those of the wire, not of a mock.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bidserver.media.s3 import S3MediaStore
from bidserver.media.store import LocalMediaStore, MediaStore, MediaUnavailable, content_name
from tests.s3server import CREDENTIALS, make_bucket, s3_server

PHOTO = b"\xff\xd8\xff\xe0 not decoded by the store, only kept"
NAME = content_name(PHOTO, "jpg")
THUMB = content_name(PHOTO, "jpg", thumb=True)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        for key, value in CREDENTIALS.items():
            env.setenv(key, value)
        env.delenv("AWS_ENDPOINT_URL_S3", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        with s3_server() as endpoint:
            yield endpoint


@pytest_asyncio.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[MediaStore]:
    made: MediaStore
    if request.param == "local":
        made = LocalMediaStore(tmp_path / "media")
    else:
        made = S3MediaStore(await make_bucket(s3_endpoint), endpoint_url=s3_endpoint)
    try:
        yield made
    finally:
        await made.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest_asyncio.fixture(params=["local", "s3-no-server", "s3-no-bucket"])
async def broken(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[MediaStore]:
    """A store that cannot work: a file where the directory goes, nothing listening, or a
    bucket that does not exist."""
    made: MediaStore
    if request.param == "local":
        (tmp_path / "media").write_text("a file, not a directory")
        made = LocalMediaStore(tmp_path / "media" / "sub")
    elif request.param == "s3-no-server":
        gone = f"http://127.0.0.1:{_closed_port()}"
        made = S3MediaStore("photos-gone", endpoint_url=gone, attempts=1)
    else:
        made = S3MediaStore("photos-never-made", endpoint_url=s3_endpoint)
    try:
        yield made
    finally:
        await made.aclose()


async def test_put_keeps_the_bytes_and_a_name_is_written_once(store: MediaStore) -> None:
    assert await store.get(NAME) is None
    assert await store.put(NAME, PHOTO) is True
    assert await store.get(NAME) == PHOTO
    assert await store.put(NAME, b"other bytes under the same name") is False
    assert await store.get(NAME) == PHOTO
    assert await store.get(THUMB) is None


async def test_two_puts_of_one_name_at_once_make_it_once(store: MediaStore) -> None:
    made = await asyncio.gather(*(store.put(NAME, PHOTO) for _ in range(4)))
    assert sorted(made) == [False, False, False, True]
    assert await store.get(NAME) == PHOTO


async def test_delete_removes_and_is_idempotent(store: MediaStore) -> None:
    await store.put(NAME, PHOTO)
    await store.put(THUMB, b"thumb")
    await store.delete(NAME)
    await store.delete(NAME)
    assert await store.get(NAME) is None
    assert await store.get(THUMB) == b"thumb"
    assert await store.put(NAME, PHOTO) is True  # a name deleted can be stored again


@pytest.mark.parametrize("bad", ["../../etc/passwd", "x.jpg", NAME + "/..", NAME.upper(), ""])
async def test_only_media_names_are_objects(store: MediaStore, bad: str) -> None:
    assert await store.get(bad) is None
    with pytest.raises(ValueError, match="not a media name"):
        await store.put(bad, PHOTO)
    with pytest.raises(ValueError, match="not a media name"):
        await store.delete(bad)


async def test_a_store_that_cannot_work_says_unavailable(broken: MediaStore) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: broken.put(NAME, PHOTO),
        lambda: broken.get(NAME),
        lambda: broken.delete(NAME),
    ]
    for call in calls:
        with pytest.raises(MediaUnavailable) as caught:
            await call()
        assert caught.value.__cause__ is not None  # the driver's error, kept for the logs


async def test_urls_point_at_this_node_or_the_cdn(tmp_path: Path) -> None:
    assert LocalMediaStore(tmp_path).url(NAME) == f"/media/{NAME}"
    assert S3MediaStore("photos-x").url(NAME) == f"/media/{NAME}"
    cdn = S3MediaStore("photos-x", "https://d111.cloudfront.net/")
    assert cdn.url(THUMB) == f"https://d111.cloudfront.net/{THUMB}"
