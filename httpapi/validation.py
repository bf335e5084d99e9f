"""Reading request bodies and query strings strictly: unknown fields and loose types refused.

A body that is not a JSON object is malformed (400); a field that is unknown, missing,
mistyped or out of range is invalid (422), so mass assignment (`role`, `sellerId`,
`status`, …) can never slip through. Money is an integer, never a float or a string.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from aiohttp import web

from bidserver.auction import parse_money
from bidserver.errors import BadRequest, NotFound
from bidserver.timefmt import from_iso
from httpapi.errors import Invalid

MAX_BODY_BYTES = 64 * 1024
MAX_PAGE_SIZE = 100
INT32_MAX = 2**31 - 1


async def read_object(request: web.Request, allowed: Collection[str]) -> dict[str, Any]:
    """The JSON object body; 400 if malformed, 422 if it names a field not in `allowed`."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    try:
        body = json.loads(raw or b"{}", parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Invalid(f"unknown field: {unknown[0]}", field=unknown[0])
    return body


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def string(
    body: Mapping[str, Any], name: str, *, required: bool = True, max_len: int = 200
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise Invalid(f"{name} must be a non-empty string of at most {max_len}", field=name)
    if not storable(value):
        raise Invalid(f"{name} contains a NUL or an unpaired surrogate", field=name)
    return value.strip()


def storable(text: str) -> bool:
    """PostgreSQL text refuses NUL and invalid UTF-8 (a lone surrogate from JSON's \\ud800)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def integer(
    body: Mapping[str, Any],
    name: str,
    *,
    required: bool = True,
    low: int = 0,
    high: int = INT32_MAX,
) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    if type(value) is not int or not low <= value <= high:
        raise Invalid(f"{name} must be an integer from {low} to {high}", field=name)
    return value


def money(body: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    try:
        return parse_money(value, name)
    except BadRequest as exc:
        raise Invalid(exc.message, field=name) from None


def timestamp(body: Mapping[str, Any], name: str) -> int:
    value: Any = body.get(name)
    try:
        return from_iso(value)
    except BadRequest as exc:
        raise Invalid(f"{name}: {exc.message}", field=name) from None


def query_int(
    request: web.Request, name: str, default: int | None, *, low: int = 1, high: int = INT32_MAX
) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 12:
        raise Invalid(f"{name} must be an integer", field=name)
    value = int(raw)
    if not low <= value <= high:
        raise Invalid(f"{name} must be from {low} to {high}", field=name)
    return value


def page_params(request: web.Request) -> tuple[int, int]:
    """`page` (1-based) and `limit` (≤ 100, default 20); over 100 is 422, not clamped."""
    page = query_int(request, "page", 1, high=1_000_000) or 1
    limit = query_int(request, "limit", 20, high=MAX_PAGE_SIZE) or 20
    return page, limit


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) == 0:
        raise NotFound(f"no such {name}: {raw[:40]}")
    return int(raw)
