"""The back office page (CONTRACT §5): a shell the back-office module fills for sellers and
admins through the REST API with the user's token; anyone else is sent to the login page.
The server cannot know who is asking (tokens live in the browser, never in a cookie or a
URL), so the refusal is the page's, and every action behind it is the API's to allow."""

from __future__ import annotations

from aiohttp import web

from httpapi.pages.render import render


async def backoffice_page(request: web.Request) -> web.Response:
    return render(request, "backoffice.html", {})
