"""The pages' own files (`/static/…`): CSS, ES modules, icons; revalidated, never guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from bidserver.errors import NotFound
from httpapi.pages.headers import STATIC_HEADERS

ROOT: Final = Path(__file__).resolve().parent / "static"
_TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


async def static_file(request: web.Request) -> web.StreamResponse:
    relative = request.match_info["path"]
    path = (ROOT / relative).resolve()
    content_type = _TYPES.get(path.suffix)
    if content_type is None or not path.is_relative_to(ROOT) or not path.is_file():
        raise NotFound("no such file")
    headers = {**STATIC_HEADERS, "Content-Type": content_type}
    return web.FileResponse(path, headers=headers)
