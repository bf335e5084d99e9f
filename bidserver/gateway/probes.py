"""Plain HTTP on the WebSocket port: /health, /ready and /metrics, answered before any upgrade."""

from __future__ import annotations

import json
from http import HTTPStatus

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from bidserver.health import METRICS_CONTENT_TYPE, Readiness, metrics_body

WS_PATH = "/ws"


def _response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def json_response(status: HTTPStatus, payload: object) -> Response:
    return _response(status, json.dumps(payload).encode(), "application/json")


async def answer_http(readiness: Readiness, request: Request) -> Response | None:
    """The response for a non-WebSocket path, or None to go on with the handshake."""
    path = request.path.partition("?")[0]
    if path == "/health":
        return json_response(HTTPStatus.OK, {"status": "ok"})
    if path == "/ready":
        ok = await readiness.ready()
        return json_response(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, {"ready": ok})
    if path == "/metrics":
        return _response(HTTPStatus.OK, metrics_body(), METRICS_CONTENT_TYPE)
    if path != WS_PATH:
        return json_response(
            HTTPStatus.NOT_FOUND, {"error": {"code": "not_found", "message": path}}
        )
    return None
