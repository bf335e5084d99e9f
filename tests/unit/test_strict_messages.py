"""Client messages are strict (CONTRACT conventions): a field the server does not know is
refused with `bad_request` naming it, for every message type and both subprotocols, so a
guessed or misspelt field can never turn into a different command."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest

from bidserver.wire import Format, InvalidMessage, decode
from bidserver.wire.client import _PARSERS, FIELDS

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

# One valid message of each type, carrying every field it may have.
FULL: dict[str, dict[str, Any]] = {
    "auth": {"type": "auth", "token": "t", "ref": 1},
    "subscribe": {"type": "subscribe", "auctionId": 7, "sinceSeq": 3, "ref": "s"},
    "unsubscribe": {"type": "unsubscribe", "auctionId": 7, "ref": "u"},
    "bid": {"type": "bid", "auctionId": 7, "amount": 27000, "bidId": UUID, "ref": "b"},
    "max_bid": {"type": "max_bid", "auctionId": 7, "maxAmount": 40000, "bidId": UUID, "ref": 2},
    "buy_now": {"type": "buy_now", "auctionId": 7, "ref": "n"},
    "ping": {"type": "ping", "ref": 3},
}


def frame(fields: dict[str, Any], fmt: Format) -> str | bytes:
    if fmt is Format.JSON:
        return json.dumps(fields)
    packed: bytes = msgpack.packb(fields, use_bin_type=True)
    return packed


def test_every_message_type_declares_its_fields() -> None:
    assert set(FIELDS) == set(_PARSERS) == set(FULL)
    for kind, fields in FULL.items():
        assert set(fields) == FIELDS[kind], kind


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("kind", sorted(FULL))
def test_every_documented_field_is_accepted(kind: str, fmt: Format) -> None:
    assert decode(frame(FULL[kind], fmt), fmt).ref == FULL[kind]["ref"]


_EXTRAS = ("maxAmount", "amount", "auctionid", "x", "Type", "bid_id")


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize(
    ("kind", "extra"),
    [(kind, extra) for kind in sorted(FULL) for extra in _EXTRAS if extra not in FULL[kind]],
)
def test_an_unknown_field_is_refused_naming_it(kind: str, extra: str, fmt: Format) -> None:
    message = {**FULL[kind], extra: 40000}
    with pytest.raises(InvalidMessage) as refused:
        decode(frame(message, fmt), fmt)
    err = refused.value
    assert err.code == "bad_request"
    assert err.details == {"field": extra}
    assert extra in err.message
    assert err.ref == FULL[kind]["ref"]


def test_the_guessed_max_on_a_plain_bid_is_refused_not_dropped() -> None:
    """The report of issue 10: this was accepted as a plain bid of 27000."""
    text = '{"type":"bid","auctionId":1,"amount":27000,"maxAmount":40000}'
    with pytest.raises(InvalidMessage, match="unknown field: maxAmount") as refused:
        decode(text, Format.JSON)
    assert refused.value.details["field"] == "maxAmount"
    assert "bid takes amount, auctionId, bidId and ref" in refused.value.message


def test_the_unknown_field_comes_before_other_problems() -> None:
    """A misspelt field explains a missing one: `amout` is named, not `amount is required`."""
    with pytest.raises(InvalidMessage, match="unknown field: amout"):
        decode('{"type":"bid","auctionId":1,"amout":27000}', Format.JSON)


def test_an_unencodable_field_name_is_named_safely() -> None:
    with pytest.raises(InvalidMessage) as refused:
        decode('{"type":"ping","\\ud800":1}', Format.JSON)
    field = refused.value.details["field"]
    assert field == "'\\ud800'"
    field.encode("utf-8")  # can be sent back
