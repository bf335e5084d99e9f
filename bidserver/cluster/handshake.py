"""Challenge-response between two nodes: each proves the cluster secret to the other.

Pure: nonces come in as arguments (the link draws them with `secrets`). The exchange:

    dialer   -> listener  hello     {node, nonce: Nd}
    listener -> dialer    challenge {node, nonce: Nl, proof: HMAC(K, "listener"|Nd|Nl|ids)}
    dialer   -> listener  proof     {proof: HMAC(K, "dialer"|Nl|Nd|ids)}
    listener -> dialer    welcome   {}

Each side's proof covers the nonce the *other* side just drew, so a recorded exchange
replayed later fails: the listener draws a fresh Nl, the dialer a fresh Nd. The role label
stops a proof from being reflected back as the other role's. The secret never travels.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from bidserver.cluster.frames import LinkMessage

NONCE_BYTES: Final = 32
PROTOCOL: Final = 1
MAX_NODE_ID: Final = 128


class HandshakeError(ValueError):
    """The peer failed to prove the secret, or broke the exchange."""


def proof(
    secret: bytes, role: str, theirs: bytes, ours: bytes, dialer: str, listener: str
) -> bytes:
    material = b"|".join(
        (b"bidserver-link", str(PROTOCOL).encode(), role.encode(), theirs, ours,
         dialer.encode(), listener.encode())
    )  # fmt: skip
    return hmac.new(secret, material, hashlib.sha256).digest()


def _bytes(message: LinkMessage, name: str) -> bytes:
    value = message.get(name)
    if not isinstance(value, bytes):
        raise HandshakeError(f"handshake field {name!r} missing or not bytes")
    return value


def _nonce(message: LinkMessage) -> bytes:
    nonce = _bytes(message, "nonce")
    if len(nonce) != NONCE_BYTES:
        raise HandshakeError("nonce of the wrong size")
    return nonce


def _node(message: LinkMessage) -> str:
    node = message.get("node")
    if not isinstance(node, str) or not node or len(node) > MAX_NODE_ID:
        raise HandshakeError("bad node id")
    return node


def _expect(message: LinkMessage, kind: str) -> None:
    if message.get("t") != kind:
        raise HandshakeError(f"expected {kind!r}, got {message.get('t')!r}")


class DialerHandshake:
    """The side that connects: says hello, checks the listener's proof, gives its own."""

    def __init__(self, secret: bytes, node_id: str, nonce: bytes) -> None:
        self._secret, self.node_id, self._nonce = secret, node_id, nonce
        self.peer_id: str | None = None
        self._proved = False

    def hello(self) -> LinkMessage:
        return {"t": "hello", "v": PROTOCOL, "node": self.node_id, "nonce": self._nonce}

    def on_challenge(self, message: LinkMessage) -> LinkMessage:
        _expect(message, "challenge")
        peer, theirs = _node(message), _nonce(message)
        expected = proof(self._secret, "listener", self._nonce, theirs, self.node_id, peer)
        if not hmac.compare_digest(expected, _bytes(message, "proof")):
            raise HandshakeError("the listener does not know the cluster secret")
        self.peer_id = peer
        self._proved = True
        ours = proof(self._secret, "dialer", theirs, self._nonce, self.node_id, peer)
        return {"t": "proof", "proof": ours}

    def on_welcome(self, message: LinkMessage) -> str:
        _expect(message, "welcome")
        if not self._proved or self.peer_id is None:
            raise HandshakeError("welcome before the challenge")
        return self.peer_id


class ListenerHandshake:
    """The side that accepts: challenges the dialer and proves itself in the same message."""

    def __init__(self, secret: bytes, node_id: str, nonce: bytes) -> None:
        self._secret, self.node_id, self._nonce = secret, node_id, nonce
        self._peer: str | None = None
        self._theirs = b""

    def on_hello(self, message: LinkMessage) -> LinkMessage:
        _expect(message, "hello")
        if message.get("v") != PROTOCOL:
            raise HandshakeError("unknown link protocol version")
        self._peer, self._theirs = _node(message), _nonce(message)
        ours = proof(self._secret, "listener", self._theirs, self._nonce, self._peer, self.node_id)
        return {"t": "challenge", "node": self.node_id, "nonce": self._nonce, "proof": ours}

    def on_proof(self, message: LinkMessage) -> str:
        """The dialer's node id once it proved the secret over our fresh nonce."""
        _expect(message, "proof")
        if self._peer is None:
            raise HandshakeError("proof before hello")
        expected = proof(
            self._secret, "dialer", self._nonce, self._theirs, self._peer, self.node_id
        )
        if not hmac.compare_digest(expected, _bytes(message, "proof")):
            raise HandshakeError("the dialer does not know the cluster secret")
        return self._peer

    @staticmethod
    def welcome() -> LinkMessage:
        return {"t": "welcome"}
