"""`/asyncapi.json` is kept true against the gateway (issue 10, deliverable 2), as
`/openapi.json` is against the REST routes:

(a) it is a valid AsyncAPI 3.0 document (the official JSON Schema, vendored) whose every
    `$ref` resolves;
(b) its client messages are exactly the gateway's, field for field: every documented field
    is accepted, every required one is required, nothing else is (strict messages);
(c) its error codes are exactly those the gateway can send;
(d) a real session over both subprotocols draws every reply, event and notice it
    documents, and every message received validates against it, with no field it omits.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgpack
import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from websockets.typing import Subprotocol

from bidserver import errors
from bidserver.engine.router import Router
from bidserver.wire import Format, InvalidMessage, decode
from bidserver.wire.client import FIELDS
from httpapi.apidocs import asyncapi_document
from tests.integration.wsclient import JSON_SP, MSGPACK_SP, Msg, ask_all, barrier, until
from tests.support import make_auction, make_user, running_api, running_engine, token_for

SCHEMA = (
    Path(__file__).parents[1] / "vendor" / "asyncapi-specs-6.11.1" / "asyncapi-3.0.0.schema.json"
)
DOC_URI = "urn:bidserver:asyncapi"
REST_ONLY_CODES = frozenset(  # never on a socket: accounts, vehicles, abstract classes
    {"conflict", "email_taken", "rejected", "vehicle_has_auctions", "vehicle_in_auction"}
)


def _doc() -> dict[str, Any]:
    return asyncapi_document()


def _messages(action: str) -> dict[str, dict[str, Any]]:
    """The documented messages the server receives (`receive`) or sends (`send`), by type."""
    doc = _doc()
    found: dict[str, dict[str, Any]] = {}
    for op in doc["operations"].values():
        refs = op["messages"] if op["action"] == action else []
        if action == "send" and "reply" in op:
            refs = refs + op["reply"]["messages"]
        for ref in refs:
            key = ref["$ref"].rsplit("/", 1)[1]
            message = doc["channels"]["bidding"]["messages"][key]
            found[message["payload"]["properties"]["type"]["const"]] = message
    return found


class Checker:
    def __init__(self) -> None:
        doc = _doc()
        resource = Resource.from_contents(doc, default_specification=DRAFT7)
        self.registry: Registry[Any] = Registry().with_resource(DOC_URI, resource)
        self.server = _messages("send")

    def _validator(self, schema: dict[str, Any]) -> Draft7Validator:
        rebased = json.loads(json.dumps(schema).replace('"#/', f'"{DOC_URI}#/'))
        return Draft7Validator(rebased, registry=self.registry)

    def check(self, message: Msg) -> None:
        kind = message.get("type")
        assert kind in self.server, f"undocumented server message {message}"
        payload = self.server[kind]["payload"]
        errors_ = sorted(self._validator(payload).iter_errors(message), key=str)
        assert not errors_, f"{message} breaks the document: {errors_[0].message}"
        extra = set(message) - set(payload["properties"])
        assert not extra, f"{kind} carries fields the document omits: {extra}"


# --- (a) ------------------------------------------------------------------------------------


def test_the_document_is_valid_asyncapi_3() -> None:
    schema = json.loads(SCHEMA.read_text())
    problems = [e.message for e in Draft7Validator(schema).iter_errors(_doc())]
    assert problems == []
    assert _doc()["asyncapi"] == "3.0.0"


def test_the_validator_catches_a_broken_document() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = _doc()
    broken["operations"]["placeBid"]["action"] = "publish"  # AsyncAPI 2 wording
    assert list(Draft7Validator(schema).iter_errors(broken))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_reference_resolves_and_every_payload_is_a_schema() -> None:
    doc = _doc()
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    for message in doc["channels"]["bidding"]["messages"].values():
        Draft7Validator.check_schema(message["payload"])
        checker = Checker()
        for example in message.get("examples", []):
            errs = list(checker._validator(message["payload"]).iter_errors(example["payload"]))
            assert errs == [], (message["name"], errs[0].message)


# --- (b) and (c) --------------------------------------------------------------------------------


def test_the_client_messages_are_the_gateways_field_for_field() -> None:
    documented = _messages("receive")
    assert set(documented) == set(FIELDS)
    for kind, message in documented.items():
        payload = message["payload"]
        assert payload["additionalProperties"] is False, kind
        assert set(payload["properties"]) == FIELDS[kind], kind
        example = message["examples"][0]["payload"]
        for fmt in Format:
            frame = json.dumps(example) if fmt is Format.JSON else msgpack.packb(example)
            decode(frame, fmt)  # every documented example is accepted
        required = set(payload["required"]) - {"type"}
        for name in required:
            partial = {k: v for k, v in example.items() if k != name}
            with pytest.raises(InvalidMessage) as refused:
                decode(json.dumps(partial), Format.JSON)
            assert refused.value.details.get("field") == name, (kind, name)
        minimal = {k: v for k, v in example.items() if k in required | {"type"}}
        decode(json.dumps(minimal), Format.JSON)  # the optional ones are optional


def _codes(cls: type[errors.BidserverError]) -> set[str]:
    return {cls.code} | {c for sub in cls.__subclasses__() for c in _codes(sub)}


def test_the_error_codes_are_the_gateways() -> None:
    enum = set(_doc()["components"]["schemas"]["ErrorCode"]["enum"])
    assert enum == _codes(errors.BidserverError) - REST_ONLY_CODES
    assert "bid_too_low" in enum


async def test_the_document_is_served_on_the_rest_port(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with running_api(db, pg_dsn) as api, api.http.get(f"{api.base}/asyncapi.json") as got:
        assert got.status == 200
        assert got.content_type == "application/json"
        assert await got.json() == _doc()


# --- (d) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("subprotocol", [JSON_SP, MSGPACK_SP])
async def test_every_documented_server_message_occurs_and_conforms(
    db: asyncpg.Pool, subprotocol: Subprotocol
) -> None:
    alice, bob = await make_user(db), await make_user(db)
    plain, seller = await make_auction(db, starting_price=1000)
    closing, _ = await make_auction(
        db, seller_id=seller, ends_in=timedelta(seconds=2), anti_snipe_seconds=3
    )
    cancelling, _ = await make_auction(db, seller_id=seller)
    buying, _ = await make_auction(db, seller_id=seller, buy_now_price=5000)
    seen: list[Msg] = []
    options: dict[str, Any] = {"subprotocols": [subprotocol]}
    async with (
        running_engine(db) as server,
        server.client(**options) as a,
        server.client(bob, **options) as b,
    ):
        seen += await ask_all(a, {"type": "ping"})
        seen += await ask_all(a, {"type": "bid", "auctionId": plain, "amount": 1000})  # no auth
        seen += await ask_all(a, {"type": "auth", "token": token_for(alice)})
        for auction in (plain, closing, cancelling, buying):
            seen += await ask_all(a, {"type": "subscribe", "auctionId": auction})
        seen += await ask_all(b, {"type": "subscribe", "auctionId": plain})
        seen += await ask_all(a, {"type": "bid", "auctionId": plain, "amount": 1000})
        seen += await ask_all(b, {"type": "max_bid", "auctionId": plain, "maxAmount": 2000})
        seen += await ask_all(a, {"type": "bid", "auctionId": plain, "amount": 1})
        seen += await ask_all(a, {"type": "unsubscribe", "auctionId": plain})
        seen += await ask_all(a, {"type": "bid", "auctionId": closing, "amount": 1000})
        seen += await until(a, "won", 10)  # extended, closed, then won at the end
        await Router(server.engine.registry).cancel(cancelling)
        seen += await until(a, "cancelled")
        seen += await ask_all(a, {"type": "buy_now", "auctionId": buying})
        seen += await until(a, "won")
        seen += await barrier(b)  # what bob saw of the rest
    checker = Checker()
    for message in seen:
        checker.check(message)
    assert {m["type"] for m in seen} == set(checker.server)
