"""The image's HEALTHCHECK: `GET /ready` on this node's own ports, with the standard library.

The image has no curl. A port that refuses the connection is not this node's (a `ws` node
has no REST port, an `http` node no WebSocket port); every port that answers must answer
200, and at least one must answer.
"""

from __future__ import annotations

import http.client
import os
import sys
from collections.abc import Mapping

from bidserver.config import DEFAULTS

TIMEOUT_S = 2.0


def ports(env: Mapping[str, str]) -> list[int]:
    names = ("BIDSERVER_WS_PORT", "BIDSERVER_HTTP_PORT")
    return sorted({int(env.get(name) or DEFAULTS[name] or 0) for name in names})


def probe(port: int, host: str = "127.0.0.1") -> int | None:
    """The status of `GET /ready`, or None when nothing listens on the port."""
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", "/ready")
        return conn.getresponse().status
    except ConnectionRefusedError:
        return None
    finally:
        conn.close()


def check(env: Mapping[str, str]) -> tuple[bool, str]:
    answered = []
    for port in ports(env):
        try:
            status = probe(port)
        except OSError as exc:
            return False, f"port {port}: {exc}"
        if status is None:
            continue
        if status != 200:
            return False, f"port {port}: /ready answered {status}"
        answered.append(port)
    if not answered:
        return False, "no port answered"
    return True, "ready on " + ", ".join(map(str, answered))


def main() -> int:
    healthy, detail = check(os.environ)
    print(detail, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
