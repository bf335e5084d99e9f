"""What every page answers with: a strict Content-Security-Policy and its companions.

No inline script or style anywhere, and nothing from another origin: scripts, styles and
fonts come from this node, images from it (or from the photo CDN's origin,
`BIDSERVER_MEDIA_URL`), and the only other place a page talks to is this node's WebSocket
port.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

_HOST: Final = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


def ws_origins(request: web.Request, ws_port: int) -> str:
    """The WebSocket origins of this node as the browser reaches it (`ws:` and `wss:`)."""
    host = request.url.host or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if _HOST.fullmatch(host) is None:
        host = "127.0.0.1"
    return f"ws://{host}:{ws_port} wss://{host}:{ws_port}"


def content_security_policy(
    request: web.Request, ws_port: int, media_origin: str | None = None
) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' {media_origin}" if media_origin else "img-src 'self'",
            "font-src 'self'",
            f"connect-src 'self' {ws_origins(request, ws_port)}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "manifest-src 'self'",
        )
    )


def page_headers(
    request: web.Request, ws_port: int, media_origin: str | None = None
) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(request, ws_port, media_origin),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "no-cache",
    }


STATIC_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # revalidated (ETag) so a new release is seen at once
    "Cross-Origin-Resource-Policy": "same-origin",
}
