"""The node-to-node secret: the configured one, else derived from the JWT secret.

Derived with HMAC-SHA256 under a fixed label, so the JWT key itself never travels between
nodes and a leaked cluster secret does not let anyone sign access tokens.
"""

from __future__ import annotations

import hashlib
import hmac

_LABEL = b"bidserver cluster secret v1"


def cluster_secret(configured: bytes | None, jwt_secret: bytes) -> bytes:
    if configured is not None:
        return configured
    return hmac.new(jwt_secret, _LABEL, hashlib.sha256).hexdigest().encode()
