"""Bad input over real sockets (CONTRACT §3): malformed messages, oversize frames, floods.

A malformed message gets `bad_request` and the socket stays open; a frame over 64 KiB closes
with 1009; a flood gets `rate_limited` and then 1008. Meanwhile another client connected to
the same server keeps being served: each test ends by having it bid or ping.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import msgpack
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bidserver.config import WsRateLimit
from tests.integration.wsclient import (
    MSGPACK_SP,
    Msg,
    accepted_bid,
    ask,
    barrier,
    close_code,
    decode,
    recv,
    subscribe,
)
from tests.support import make_auction, make_user, running_engine

KIB = 1024


def _json_frames(aid: int) -> list[tuple[str, Any]]:
    """(frame, ref the error must echo, or None when no ref could be read)."""

    def bid(amount: str, ref: str, kind: str = "bid", field: str = "amount") -> tuple[str, str]:
        return f'{{"type":"{kind}","auctionId":{aid},"{field}":{amount},"ref":"{ref}"}}', ref

    money = ["12.5", "1e3", "1000.0", '"25000"', "true", "false", "-5", "0", "null", "[1000]"]
    money += [str(10**12 + 1), str(10**30), "-0"]
    frames: list[tuple[str, Any]] = [bid(m, f"amount{i}") for i, m in enumerate(money)]
    frames += [bid(m, f"max{i}", "max_bid", "maxAmount") for i, m in enumerate(["1.5", '"9"'])]
    frames += [
        bid("2000", "max-with-amount", "max_bid", "amount"),  # maxAmount missing
        ('{"type":"ping"', None),
        ("", None),
        ("   ", None),
        ('[{"type":"ping"}]', None),
        ('"ping"', None),
        ("42", None),
        ("null", None),
        ('{"type":"bid","auctionId":1,"amount":NaN,"ref":"nan"}', None),
        ('{"type":"bid","auctionId":1,"amount":Infinity}', None),
        ('{"type":"bid","auctionId":1,"amount":' + "9" * 5000 + "}", None),
        ("[" * 30_000 + "]" * 30_000, None),
        ('{"type":"nope","ref":"unknown"}', "unknown"),
        ('{"type":"PING","ref":"case"}', "case"),
        ('{"ref":"untyped"}', "untyped"),
        ('{"type":7,"ref":"numeric-type"}', "numeric-type"),
        ('{"type":null,"ref":"null-type"}', "null-type"),
        ('{"type":"ping","ref":[1]}', None),
        ('{"type":"ping","ref":1.5}', None),
        ('{"type":"ping","ref":true}', None),
        ('{"type":"ping","ref":"' + "r" * 129 + '"}', None),
        ('{"type":"ping","ref":' + str(2**53) + "}", None),
        ('{"type":"ping","ref":"\\ud800"}', None),  # a lone surrogate cannot be echoed
        ('{"type":"subscribe","ref":"no-auction"}', "no-auction"),
        ('{"type":"unsubscribe","auctionId":"1","ref":"str-id"}', "str-id"),
    ]
    for i, bad_id in enumerate(["true", '"1"', "0", "-1", "1.0", str(2**63), "null", "{}"]):
        frames.append((f'{{"type":"subscribe","auctionId":{bad_id},"ref":"id{i}"}}', f"id{i}"))
        frames.append(
            (f'{{"type":"bid","auctionId":{bad_id},"amount":1000,"ref":"b{i}"}}', f"b{i}")
        )
    for i, since in enumerate(["-1", '"3"', "1.5", "true"]):
        frames.append(
            (f'{{"type":"subscribe","auctionId":{aid},"sinceSeq":{since},"ref":"s{i}"}}', f"s{i}")
        )
    for i, bid_id in enumerate(['"not-a-uuid"', "5", '"0f8fad5b-d9cb-469f-a165-70867728950"']):
        frames.append(
            (
                f'{{"type":"bid","auctionId":{aid},"amount":1000,"bidId":{bid_id},"ref":"u{i}"}}',
                f"u{i}",
            )
        )
    for i, token in enumerate(["5", '""', "null", '["a"]']):
        frames.append((f'{{"type":"auth","token":{token},"ref":"t{i}"}}', f"t{i}"))
    return frames


def _assert_bad_request(reply: Msg, ref: Any, frame: object) -> None:
    assert reply["type"] == "error", (frame, reply)
    assert reply["code"] == "bad_request", (frame, reply)
    assert isinstance(reply["message"], str), reply
    if ref is None:
        assert "ref" not in reply, (frame, reply)
    else:
        assert reply["ref"] == ref, (frame, reply)


async def _still_served(ws: ClientConnection, auction_id: int, amount: int) -> None:
    """The other client, connected all along, bids and pings as if nothing happened."""
    result = await accepted_bid(ws, auction_id, amount)
    assert result["currentPrice"] == amount
    assert (await ask(ws, {"type": "ping"}))["type"] == "pong"


async def test_malformed_json_messages_get_bad_request_and_the_socket_stays_open(
    db: asyncpg.Pool,
) -> None:
    user, other = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db) as server,
        server.client(user) as ws,
        server.client(other) as bystander,
    ):
        await subscribe(bystander, auction_id)
        for frame, ref in _json_frames(auction_id):
            await ws.send(frame)
            _assert_bad_request(await recv(ws), ref, frame)
        # Unknown fields are refused, naming the first (CONTRACT conventions).
        extra = {"type": "ping", "ref": "extra", "color": "red", "nested": {"a": [1, 2]}}
        refused = await ask(ws, extra)
        assert (refused["code"], refused["field"]) == ("bad_request", "color")
        assert await barrier(ws) == []  # exactly one answer per frame, nothing else
        assert (await accepted_bid(ws, auction_id, 1000))["seq"] == 1  # nothing was recorded
        await _still_served(bystander, auction_id, 1050)


async def test_binary_frame_on_json_subprotocol_is_bad_request(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with running_engine(db) as server, server.client() as ws, server.client(user) as other:
        for frame in (b'{"type":"ping","ref":1}', msgpack.packb({"type": "ping"}), b"\xff\x00"):
            await ws.send(frame)
            _assert_bad_request(await recv(ws), None, frame)
        assert (await ask(ws, {"type": "ping"}))["type"] == "pong"
        await _still_served(other, auction_id, 1000)


def _msgpack_frames(aid: int) -> list[tuple[str | bytes, Any]]:
    def pack(message: object) -> bytes:
        return msgpack.packb(message, use_bin_type=True)

    ok = {"type": "bid", "auctionId": aid, "amount": 1000}
    frames: list[tuple[str | bytes, Any]] = [
        ('{"type":"ping","ref":1}', None),  # a text frame on the msgpack subprotocol
        (b"\xc1", None),  # a byte msgpack never uses
        (b"", None),
        (b"\x82\xa4type", None),  # truncated map
        (pack({"type": "ping"}) + b"\x00", None),  # trailing data
        (pack([1, 2, 3]), None),
        (pack("ping"), None),
        (pack({1: 2, "type": "ping"}), None),  # a non-string key
        (pack({b"type": b"ping"}), None),  # bin, not str
        (pack(msgpack.ExtType(5, b"x")), None),
        (b"\x91" * 20_000 + b"\xc0", None),  # deep nesting
        (b"\xdd\xff\xff\xff\xff", None),  # an array claiming 4 billion items
        (pack({"type": "ping", "ref": 2.5}), None),
        (pack({"type": "ping", "ref": b"bin-ref"}), None),
    ]
    values: list[object] = [1.5, 1000.0, True, -1, 0, 2**64 - 1, "1000", b"1000", None]
    values += [msgpack.ExtType(1, b"\x00"), msgpack.Timestamp(1, 0), [1000], {"v": 1}]
    frames += [(pack({**ok, "amount": v, "ref": f"m{i}"}), f"m{i}") for i, v in enumerate(values)]
    frames += [
        (pack({**ok, "auctionId": v, "ref": f"a{i}"}), f"a{i}")
        for i, v in enumerate([True, False, 1.0, "1", -1, 0, 2**64 - 1])
    ]
    frames.append((pack({"type": "max_bid", "auctionId": aid, "maxAmount": 2.0, "ref": 7}), 7))
    return frames


async def test_msgpack_garbage_gets_bad_request_and_the_socket_stays_open(
    db: asyncpg.Pool,
) -> None:
    user, other = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db) as server,
        server.client(user, subprotocols=[MSGPACK_SP]) as ws,
        server.client(other, subprotocols=[MSGPACK_SP]) as bystander,
    ):
        for frame, ref in _msgpack_frames(auction_id):
            await ws.send(frame)
            reply = await recv(ws)
            _assert_bad_request(reply, ref, frame)
        assert await barrier(ws) == []
        assert (await accepted_bid(ws, auction_id, 1000))["seq"] == 1
        await _still_served(bystander, auction_id, 1050)


@pytest.mark.parametrize("binary", [False, True])
async def test_a_frame_over_64_kib_closes_with_1009(db: asyncpg.Pool, binary: bool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    options: dict[str, Any] = {"subprotocols": [MSGPACK_SP]} if binary else {}
    async with (
        running_engine(db) as server,
        server.client(**options) as ws,
        server.client(user) as bystander,
    ):
        await subscribe(bystander, auction_id)
        # Exactly 64 KiB is read (and its unknown padding field refused, socket open).
        exact = _ping_of_size(64 * KIB, binary)
        assert len(exact) == 64 * KIB
        await ws.send(exact)
        refused = await recv(ws)
        assert (refused["code"], refused["field"]) == ("bad_request", "pad")
        await ws.send(_ping_of_size(70 * KIB, binary))
        code, before = await close_code(ws)
        assert (code, before) == (1009, [])
        await _still_served(bystander, auction_id, 1000)


def _ping_of_size(size: int, binary: bool) -> str | bytes:
    """A ping frame of exactly `size` bytes."""
    if binary:
        pad = size
        for _ in range(3):  # the bin header grows with the pad: converge on the size
            frame = msgpack.packb({"type": "ping", "pad": b"p" * pad})
            pad -= len(frame) - size
        assert len(frame) == size
        return frame
    text = json.dumps({"type": "ping", "pad": ""})
    return json.dumps({"type": "ping", "pad": "p" * (size - len(text))})


async def _flood(ws: ClientConnection, count: int) -> int:
    sent = 0
    try:
        for i in range(count):
            await ws.send(json.dumps({"type": "ping", "ref": i}))
            sent += 1
    except ConnectionClosed:
        pass
    return sent


async def _read_all(ws: ClientConnection) -> tuple[list[Msg], int | None]:
    seen: list[Msg] = []
    try:
        async with asyncio.timeout(8):
            while True:
                seen.append(decode(await ws.recv()))
    except ConnectionClosed as closed:
        return seen, None if closed.rcvd is None else closed.rcvd.code
    return seen, None  # pragma: no cover - the timeout raises


async def test_a_flood_is_rate_limited_then_closed_with_1008(db: asyncpg.Pool) -> None:
    user, other = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db, rate=WsRateLimit(50, 200)) as server,
        server.client(user) as flooder,
        server.client(other) as bystander,
    ):
        await subscribe(bystander, auction_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        reader = asyncio.create_task(_read_all(flooder))
        sent = await _flood(flooder, 2000)
        seen, code = await reader
        elapsed = loop.time() - started
        assert code == 1008
        pongs = [m for m in seen if m["type"] == "pong"]
        limited = [m for m in seen if m.get("code") == "rate_limited"]
        assert len(pongs) + len(limited) == len(seen)  # nothing else
        assert 200 <= len(pongs) <= 200 + 50 * elapsed + 1  # the burst, then the rate
        assert limited
        assert all(m["type"] == "error" and isinstance(m["message"], str) for m in limited)
        assert sent <= 2000
        await _still_served(bystander, auction_id, 1000)
        # A well-behaved client of the same server is within its own budget.
        async with server.client(user) as again:
            await _still_served(again, auction_id, 1050)


async def test_a_text_frame_of_invalid_utf8_closes_with_1007(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db) as server,
        server.client() as ws,
        server.client(user) as bystander,
    ):
        await subscribe(bystander, auction_id)
        assert (await ask(ws, {"type": "ping"}))["type"] == "pong"
        # The client library refuses to send this, so write the raw frame beneath it.
        ws.protocol.send_text(b'{"type":"ping","x":"\xff\xfe"}')
        ws.send_data()
        code, before = await close_code(ws)
        assert (code, before) == (1007, [])
        await _still_served(bystander, auction_id, 1000)


async def test_a_fragmented_message_is_answered_in_order_with_the_rest(db: asyncpg.Pool) -> None:
    """Whole frames take the fast path, fragmented messages the library's: order holds."""
    user = await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with running_engine(db) as server, server.client(user) as ws:
        await ws.send(json.dumps({"type": "ping", "ref": "whole-1"}))
        fragments = ['{"type":"ping",', '"ref":"fragmented"}']
        await ws.send(fragments)  # one text message in two frames
        await ws.send(json.dumps({"type": "ping", "ref": "whole-2"}))
        refs = [(await recv(ws))["ref"] for _ in range(3)]
        assert refs == ["whole-1", "fragmented", "whole-2"]
        assert (await accepted_bid(ws, auction_id, 1000))["seq"] == 1
