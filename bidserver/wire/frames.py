"""Server messages encoded once per wire format, with their whole WebSocket frame.

An event goes to every subscriber of an auction: it is encoded at most once per format and
the frame built once, then written as is to every connection of that format.
"""

from __future__ import annotations

from bidserver.wire.codec import Format, Message, encode_json, encode_msgpack


class Frames:
    """One server message and its lazily computed encodings."""

    __slots__ = ("_binary", "_utf8", "_wire", "message")

    def __init__(self, message: Message) -> None:
        self.message = message
        self._utf8: bytes | None = None
        self._binary: bytes | None = None
        self._wire: dict[Format, bytes] = {}

    def binary(self) -> bytes:
        if self._binary is None:
            self._binary = encode_msgpack(self.message)
        return self._binary

    def utf8(self) -> bytes:
        if self._utf8 is None:
            self._utf8 = encode_json(self.message)
        return self._utf8

    def encoded(self, fmt: Format) -> bytes:
        """The frame's payload for `fmt`: UTF-8 JSON (a text frame) or msgpack (binary)."""
        return self.utf8() if fmt is Format.JSON else self.binary()

    def wire(self, fmt: Format) -> bytes:
        """The whole WebSocket frame, built once and written as is to every subscriber.

        Server frames are unmasked and we negotiate no extensions, so the bytes are the same
        for every connection of a format (RFC 6455 §5.2).
        """
        frame = self._wire.get(fmt)
        if frame is None:
            frame = self._wire[fmt] = server_frame(self.encoded(fmt), fmt is Format.JSON)
        return frame


def server_frame(payload: bytes, text: bool) -> bytes:
    """One final, unmasked data frame: FIN + opcode, the length, the payload."""
    head = 0x81 if text else 0x82
    size = len(payload)
    if size < 126:
        header = bytes((head, size))
    elif size < 1 << 16:
        header = bytes((head, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((head, 127)) + size.to_bytes(8, "big")
    return header + payload
