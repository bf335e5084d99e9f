"""The node-to-node frame codec: whole frames however the bytes are cut, and refusals.

Pure: no loop, no socket. A frame over the limit, bytes that are not msgpack, and a message
that is not a map with a string `t` raise `FrameError`, which makes the link close at once.
"""

from __future__ import annotations

import random

import msgpack
import pytest

from bidserver.cluster.frames import (
    HANDSHAKE_FRAME_BYTES,
    MAX_FRAME_BYTES,
    FrameDecoder,
    FrameError,
    encode_frame,
)


def _frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def test_round_trip_of_several_messages_in_one_read() -> None:
    messages = [{"t": "bid", "id": 1, "a": 7, "m": 25_000}, {"t": "r", "id": 1, "ok": [1, True]}]
    data = b"".join(encode_frame(m) for m in messages)
    assert FrameDecoder().feed(data) == messages


def test_any_cut_of_the_bytes_gives_the_same_messages() -> None:
    seed = random.randrange(1 << 30)
    print(f"seed={seed}")
    rng = random.Random(seed)
    messages = [
        {"t": "ev", "a": i, "p": {"seq": i, "x": "é" * rng.randrange(50)}} for i in range(40)
    ]
    data = b"".join(encode_frame(m) for m in messages)
    decoder = FrameDecoder()
    out: list[object] = []
    at = 0
    while at < len(data):
        step = rng.randrange(1, 20)
        out.extend(decoder.feed(data[at : at + step]))
        at += step
    assert out == messages
    assert decoder.pending == 0


def test_partial_frame_is_kept_until_complete() -> None:
    data = encode_frame({"t": "x", "n": 1})
    decoder = FrameDecoder()
    assert decoder.feed(data[:3]) == []
    assert decoder.feed(data[3:-1]) == []
    assert decoder.feed(data[-1:]) == [{"t": "x", "n": 1}]


def test_frame_over_the_limit_is_refused_from_its_header_alone() -> None:
    decoder = FrameDecoder(HANDSHAKE_FRAME_BYTES)
    with pytest.raises(FrameError, match="over"):
        decoder.feed((HANDSHAKE_FRAME_BYTES + 1).to_bytes(4, "big"))


def test_encoding_refuses_a_message_over_the_limit() -> None:
    with pytest.raises(FrameError):
        encode_frame({"t": "x", "blob": b"\0" * (MAX_FRAME_BYTES + 1)})


@pytest.mark.parametrize(
    "body",
    [
        b"\xc1",  # never used in msgpack
        b"\x92\x01",  # an array cut short
        msgpack.packb([1, 2]),  # not a map
        msgpack.packb({"x": 1}),  # no type
        msgpack.packb({"t": 5}),  # type not a string
        msgpack.packb({1: "int key", "t": "x"}),  # non-string keys are refused
    ],
)
def test_garbage_is_refused(body: bytes) -> None:
    with pytest.raises(FrameError):
        FrameDecoder().feed(_frame(body))


def test_http_request_on_the_port_is_refused() -> None:
    """What a stray client sends first: read as a huge length, refused before any buffering."""
    with pytest.raises(FrameError):
        FrameDecoder(HANDSHAKE_FRAME_BYTES).feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
