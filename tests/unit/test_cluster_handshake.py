"""The node-link challenge-response: both sides prove the secret over the other's fresh nonce.

Pure: nonces are arguments. A side without the secret fails, a recorded exchange replayed
against a fresh nonce fails, a proof reflected back to its maker fails, and a broken
exchange is refused.
"""

from __future__ import annotations

import os

import pytest

from bidserver.cluster.handshake import (
    NONCE_BYTES,
    DialerHandshake,
    HandshakeError,
    ListenerHandshake,
)

SECRET = b"s" * 32


def _nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def test_both_sides_learn_each_other_when_they_share_the_secret() -> None:
    dialer = DialerHandshake(SECRET, "a", _nonce())
    listener = ListenerHandshake(SECRET, "b", _nonce())
    challenge = listener.on_hello(dialer.hello())
    proof = dialer.on_challenge(challenge)
    assert listener.on_proof(proof) == "a"
    assert dialer.on_welcome(listener.welcome()) == "b"


def test_dialer_without_the_secret_is_refused() -> None:
    dialer = DialerHandshake(b"x" * 32, "a", _nonce())
    listener = ListenerHandshake(SECRET, "b", _nonce())
    challenge = listener.on_hello(dialer.hello())
    # The dialer already sees the listener's proof is not its secret's: it stops there.
    with pytest.raises(HandshakeError, match="listener"):
        dialer.on_challenge(challenge)
    # A dialer that pretends anyway sends a proof the listener refuses.
    forged = {"t": "proof", "proof": os.urandom(32)}
    with pytest.raises(HandshakeError, match="dialer"):
        listener.on_proof(forged)


def test_listener_without_the_secret_is_refused_by_the_dialer() -> None:
    dialer = DialerHandshake(SECRET, "a", _nonce())
    impostor = ListenerHandshake(b"y" * 32, "b", _nonce())
    with pytest.raises(HandshakeError):
        dialer.on_challenge(impostor.on_hello(dialer.hello()))


def test_replayed_dialer_exchange_fails_against_a_fresh_nonce() -> None:
    recorded_dialer = DialerHandshake(SECRET, "a", _nonce())
    hello = recorded_dialer.hello()
    proof = recorded_dialer.on_challenge(ListenerHandshake(SECRET, "b", _nonce()).on_hello(hello))
    # An eavesdropper replays hello and proof to the listener, which draws a new nonce.
    listener = ListenerHandshake(SECRET, "b", _nonce())
    listener.on_hello(hello)
    with pytest.raises(HandshakeError):
        listener.on_proof(proof)


def test_replayed_listener_challenge_fails_against_a_fresh_dialer_nonce() -> None:
    old = DialerHandshake(SECRET, "a", _nonce())
    challenge = ListenerHandshake(SECRET, "b", _nonce()).on_hello(old.hello())
    with pytest.raises(HandshakeError):
        DialerHandshake(SECRET, "a", _nonce()).on_challenge(challenge)


def test_a_proof_reflected_to_its_maker_fails() -> None:
    """The listener's own proof sent back as the dialer's: the role label differs."""
    nonce_a = _nonce()
    listener = ListenerHandshake(SECRET, "b", _nonce())
    challenge = listener.on_hello({"t": "hello", "v": 1, "node": "b", "nonce": nonce_a})
    with pytest.raises(HandshakeError):
        listener.on_proof({"t": "proof", "proof": challenge["proof"]})


@pytest.mark.parametrize(
    "hello",
    [
        {"t": "proof", "proof": b"x"},
        {"t": "hello", "v": 1, "node": "a", "nonce": b"short"},
        {"t": "hello", "v": 1, "node": "", "nonce": b"\0" * NONCE_BYTES},
        {"t": "hello", "v": 1, "node": 7, "nonce": b"\0" * NONCE_BYTES},
        {"t": "hello", "v": 2, "node": "a", "nonce": b"\0" * NONCE_BYTES},
        {"t": "hello", "v": 1, "node": "a", "nonce": "text"},
    ],
)
def test_broken_hello_is_refused(hello: dict[str, object]) -> None:
    with pytest.raises(HandshakeError):
        ListenerHandshake(SECRET, "b", _nonce()).on_hello(hello)


def test_welcome_before_challenge_is_refused() -> None:
    with pytest.raises(HandshakeError):
        DialerHandshake(SECRET, "a", _nonce()).on_welcome({"t": "welcome"})


def test_proof_without_bytes_is_refused() -> None:
    listener = ListenerHandshake(SECRET, "b", _nonce())
    listener.on_hello(DialerHandshake(SECRET, "a", _nonce()).hello())
    with pytest.raises(HandshakeError):
        listener.on_proof({"t": "proof", "proof": "not bytes"})
