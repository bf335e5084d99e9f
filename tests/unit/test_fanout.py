"""Frames built once for every subscriber are byte-for-byte what `websockets` would send."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from bidserver.wire import Format
from bidserver.wire.frames import Frames, server_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
@pytest.mark.parametrize("text", [True, False])
def test_server_frame_matches_websockets_serialisation(size: int, text: bool) -> None:
    payload = b"x" * size
    expected = Frame(Opcode.TEXT if text else Opcode.BINARY, payload).serialize(mask=False)
    assert server_frame(payload, text) == expected


def test_frames_encode_each_format_once() -> None:
    frames = Frames({"type": "bid", "amount": 25000})
    first = frames.wire(Format.JSON)
    assert frames.wire(Format.JSON) is first
    assert first.endswith(b'{"type":"bid","amount":25000}')
    assert frames.wire(Format.MSGPACK)[0] == 0x82
