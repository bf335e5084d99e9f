"""CONTRACT §3 over real sockets: subprotocols, the handshake's checks, auth, ref and ping."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

import bidserver.gateway.session
from bidserver.accounts.tokens import mint_access
from bidserver.timefmt import now_ms
from tests.integration.wsclient import (
    ISO_MS,
    JSON_SP,
    MSGPACK_SP,
    Msg,
    accepted_bid,
    ask,
    barrier,
    bid,
    decode,
    next_of,
    recv,
    subscribe,
)
from tests.support import SECRET, make_auction, make_user, running_engine, token_for

ALLOWED_ORIGIN = "http://localhost:8080"


def _now_s() -> int:
    return int(datetime.now(UTC).timestamp())


def _expired_token(user_id: int) -> str:
    """A token whose exp passed a minute ago: no sleeping needed."""
    return mint_access(SECRET, user_id, "bidder", _now_s() - 120, ttl_s=60)


# --- subprotocols ----------------------------------------------------------------------------


@pytest.mark.parametrize("offered", [None, [JSON_SP]])
async def test_json_by_default_and_by_name(
    db: asyncpg.Pool, offered: list[Subprotocol] | None
) -> None:
    auction_id, _ = await make_auction(db)
    async with running_engine(db) as server, server.client(subprotocols=offered) as ws:
        assert ws.subprotocol == (None if offered is None else JSON_SP)
        await ws.send('{"type":"ping","ref":1}')
        async with asyncio.timeout(3):
            frame = await ws.recv()
        assert isinstance(frame, str)  # a text frame
        assert decode(frame) == {
            "type": "pong",
            "ref": 1,
            "serverTime": decode(frame)["serverTime"],
        }
        reply = await subscribe(ws, auction_id)
        assert reply["auctionId"] == auction_id


async def test_msgpack_carries_the_same_maps_in_binary_frames(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder = await make_user(db)
    async with (
        running_engine(db) as server,
        server.client(bidder, subprotocols=[MSGPACK_SP]) as packed,
        server.client() as text,
    ):
        assert packed.subprotocol == MSGPACK_SP
        await packed.send(b"\x82\xa4type\xa4ping\xa3ref\x07")  # {"type":"ping","ref":7}
        async with asyncio.timeout(3):
            frame = await packed.recv()
        assert isinstance(frame, bytes)
        assert (decode(frame)["type"], decode(frame)["ref"]) == ("pong", 7)
        sub_packed = await subscribe(packed, auction_id, ref="s")
        sub_text = await subscribe(text, auction_id, ref="s")
        assert sub_packed == sub_text
        result = await accepted_bid(packed, auction_id, 1500, ref=9)
        assert (result["ref"], result["amount"], result["seq"]) == (9, 1500, 1)
        event_packed = await next_of(packed, "bid")
        event_text = await next_of(text, "bid")
        assert event_packed == event_text
        assert event_packed["amount"] == 1500
        error = await bid(packed, auction_id, 1.5)
        assert (error["type"], error["code"]) == ("error", "bad_request")


async def test_the_first_supported_subprotocol_offered_is_chosen(db: asyncpg.Pool) -> None:
    async with running_engine(db) as server:
        offered = [Subprotocol("bidserver.v2.cbor"), MSGPACK_SP, JSON_SP]
        async with server.client(subprotocols=offered) as ws:
            assert ws.subprotocol == MSGPACK_SP
            assert (await ask(ws, {"type": "ping"}))["type"] == "pong"


async def test_unsupported_subprotocol_refuses_the_handshake(db: asyncpg.Pool) -> None:
    async with running_engine(db) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with server.client(subprotocols=[Subprotocol("bidserver.v2.cbor")]):
                pass
        assert refused.value.response.status_code == 400
        async with server.client() as ws:  # the server is unaffected
            assert (await ask(ws, {"type": "ping"}))["type"] == "pong"


# --- handshake checks --------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["token", "access_token", "jwt"])
async def test_token_in_query_string_is_refused_with_401(db: asyncpg.Pool, param: str) -> None:
    user = await make_user(db)
    async with running_engine(db) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{server.url}?{param}={token_for(user)}"):
                pass
        assert refused.value.response.status_code == 401
        assert b"unauthenticated" in refused.value.response.body


async def test_foreign_origin_is_refused_with_403(db: asyncpg.Pool) -> None:
    async with running_engine(db, origins=frozenset({ALLOWED_ORIGIN})) as server:
        for foreign in ("http://evil.example", "http://localhost:8081", "null"):
            with pytest.raises(InvalidStatus) as refused:
                async with server.client(origin=Origin(foreign)):
                    pass
            assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, None])
async def test_allowed_origin_and_no_origin_connect(db: asyncpg.Pool, origin: str | None) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db)
    async with (
        running_engine(db, origins=frozenset({ALLOWED_ORIGIN})) as server,
        server.client(user, origin=None if origin is None else Origin(origin)) as ws,
    ):
        await accepted_bid(ws, auction_id, 1000)


# --- authentication ----------------------------------------------------------------------------


async def test_auth_by_header_allows_bids(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db)
    async with running_engine(db) as server, server.client(user) as ws:
        result = await accepted_bid(ws, auction_id, 1000)
        assert result["leading"] is True
        assert await barrier(ws) == []  # a valid header is not answered


async def test_auth_message_answers_auth_ok_then_bids_pass(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db)
    issued = _now_s()
    token = mint_access(SECRET, user, "bidder", issued, ttl_s=600)
    async with running_engine(db) as server, server.client() as ws:
        refused = await bid(ws, auction_id, 1000, ref="before")
        assert (refused["type"], refused["code"], refused["ref"]) == (
            "error",
            "unauthenticated",
            "before",
        )
        ok = await ask(ws, {"type": "auth", "token": token, "ref": "a"})
        assert ok == {
            "type": "auth_ok",
            "ref": "a",
            "userId": user,
            "expiresAt": datetime.fromtimestamp(issued + 600, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            ),
        }
        await accepted_bid(ws, auction_id, 1000)


async def test_expired_header_token_watches_but_cannot_bid_until_fresh_auth(
    db: asyncpg.Pool,
) -> None:
    user, other = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db)
    header = {"Authorization": f"Bearer {_expired_token(user)}"}
    async with (
        running_engine(db) as server,
        server.client(additional_headers=header) as ws,
        server.client(other) as rival,
    ):
        pushed = await recv(ws)  # the server says at once that the header was refused
        assert (pushed["type"], pushed["code"]) == ("error", "unauthenticated")
        await subscribe(ws, auction_id)
        refused = await bid(ws, auction_id, 1000)
        assert (refused["type"], refused["code"]) == ("error", "unauthenticated")
        await accepted_bid(rival, auction_id, 1000)
        assert (await next_of(ws, "bid"))["seq"] == 1  # watching goes on
        ok = await ask(ws, {"type": "auth", "token": token_for(user)})
        assert ok["type"] == "auth_ok"
        assert (await accepted_bid(ws, auction_id, 1100))["seq"] == 2


async def test_expired_token_in_auth_message_is_refused(db: asyncpg.Pool) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db)
    async with running_engine(db) as server, server.client() as ws:
        refused = await ask(ws, {"type": "auth", "token": _expired_token(user), "ref": 3})
        assert (refused["type"], refused["code"], refused["ref"]) == ("error", "unauthenticated", 3)
        assert (await bid(ws, auction_id, 1000))["code"] == "unauthenticated"


async def test_token_expiring_mid_session_stops_bids_not_watching(
    db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From `exp` on, bids are refused; the session's clock is moved past `exp` (no sleep)."""
    user, other = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db)
    async with (
        running_engine(db) as server,
        server.client(
            additional_headers={"Authorization": f"Bearer {token_for(user, ttl_s=60)}"}
        ) as ws,
        server.client(other) as rival,
    ):
        await subscribe(ws, auction_id)
        await accepted_bid(ws, auction_id, 1000)
        monkeypatch.setattr(bidserver.gateway.session, "now_ms", lambda: now_ms() + 61_000)
        refused = await bid(ws, auction_id, 5000, ref="late")
        assert (refused["type"], refused["code"], refused["ref"]) == (
            "error",
            "unauthenticated",
            "late",
        )
        await accepted_bid(rival, auction_id, 1100)
        assert [m["seq"] for m in await barrier(ws) if m["type"] == "bid"] == [2]
        ok = await ask(ws, {"type": "auth", "token": token_for(user, ttl_s=900)})
        assert ok["type"] == "auth_ok"
        assert (await accepted_bid(ws, auction_id, 5000))["seq"] == 3


def _forged(user_id: int, kind: str) -> str:
    now = _now_s()
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": "bidder",
        "iat": now,
        "exp": now + 600,
        "typ": "access",
    }
    if kind == "wrong_key":
        return jwt.encode(claims, b"another-secret-another-secret-123", algorithm="HS256")
    if kind == "alg_none":
        return jwt.encode(claims, "", algorithm="none")  # "" is no key, typed either way
    if kind == "hs512_same_key":
        with warnings.catch_warnings():  # the test key is short for HS512, and that is fine
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(claims, SECRET, algorithm="HS512")
    if kind == "tampered_sub":
        header, _, signature = token_for(user_id).split(".")
        other = jwt.encode({**claims, "sub": str(user_id + 1)}, SECRET, algorithm="HS256")
        return ".".join([header, other.split(".")[1], signature])
    if kind == "garbage":
        return "not.a.jwt"
    del claims["exp"]  # missing_exp
    return jwt.encode(claims, SECRET, algorithm="HS256")


FORGERIES = ["wrong_key", "alg_none", "missing_exp", "hs512_same_key", "tampered_sub", "garbage"]


@pytest.mark.parametrize("kind", FORGERIES)
async def test_forged_tokens_are_rejected(db: asyncpg.Pool, kind: str) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db)
    forged = _forged(user, kind)
    header = {"Authorization": f"Bearer {forged}"}
    async with (
        running_engine(db) as server,
        server.client() as by_message,
        server.client(additional_headers=header) as by_header,
    ):
        refused = await ask(by_message, {"type": "auth", "token": forged, "ref": kind})
        assert (refused["type"], refused["code"], refused["ref"]) == (
            "error",
            "unauthenticated",
            kind,
        )
        assert (await bid(by_message, auction_id, 1000))["code"] == "unauthenticated"
        pushed = await recv(by_header)
        assert (pushed["type"], pushed["code"]) == ("error", "unauthenticated")
        assert (await bid(by_header, auction_id, 1000))["code"] == "unauthenticated"
        await subscribe(by_header, auction_id)  # may still watch


# --- ref echo and ping ---------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["x-1", 42, 0, -7])
async def test_every_reply_type_echoes_ref(db: asyncpg.Pool, ref: str | int) -> None:
    user, seller = await make_user(db), await make_user(db, "seller")
    auction_id, _ = await make_auction(db, seller_id=seller, starting_price=1000)
    async with running_engine(db) as server, server.client() as ws:
        requests: list[tuple[Msg, str]] = [
            ({"type": "ping"}, "pong"),
            ({"type": "bid", "auctionId": auction_id, "amount": 1000}, "error"),
            ({"type": "auth", "token": token_for(user)}, "auth_ok"),
            ({"type": "subscribe", "auctionId": auction_id}, "subscribed"),
            ({"type": "bid", "auctionId": auction_id, "amount": 1000}, "bid_result"),
            ({"type": "bid", "auctionId": auction_id, "amount": 1}, "error"),
            ({"type": "max_bid", "auctionId": auction_id, "maxAmount": 5000}, "bid_result"),
            ({"type": "buy_now", "auctionId": auction_id}, "error"),
            ({"type": "bid", "auctionId": auction_id}, "error"),  # bad_request
            ({"type": "subscribe", "auctionId": 987_654_321}, "error"),  # not_found
            ({"type": "unsubscribe", "auctionId": auction_id}, "unsubscribed"),
        ]
        for message, expected in requests:
            reply = await ask(ws, {**message, "ref": ref})
            assert reply["type"] == expected, (message, reply)
            assert reply["ref"] == ref
            assert type(reply["ref"]) is type(ref)


async def test_reply_without_ref_has_none(db: asyncpg.Pool) -> None:
    async with running_engine(db) as server, server.client() as ws:
        await ws.send('{"type":"ping"}')
        assert "ref" not in await recv(ws)


async def test_pong_carries_server_time_iso_z_with_ms(db: asyncpg.Pool) -> None:
    async with running_engine(db) as server:
        for offered in ([JSON_SP], [MSGPACK_SP]):
            async with server.client(subprotocols=offered) as ws:
                before = now_ms()
                pong = await ask(ws, {"type": "ping", "ref": "p"})
                after = now_ms()
                assert pong["type"] == "pong"
                assert ISO_MS.fullmatch(pong["serverTime"]), pong
                seen = datetime.fromisoformat(pong["serverTime"].replace("Z", "+00:00"))
                seen_ms = int(seen.timestamp() * 1000)
                assert before - 1 <= seen_ms <= after + 1
