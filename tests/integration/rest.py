"""REST calls that check every answer against the served OpenAPI document.

Each call made through `Rest` asserts that its status is documented for the operation and
that its body validates against that status's schema, so every integration scenario of the
REST suites also keeps `httpapi/openapi.json` true.
"""

from __future__ import annotations

import itertools
import json as jsonlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bidserver.accounts.tokens import mint_access
from bidserver.vin import with_check_digit
from httpapi.openapi import document
from tests.support import SECRET, RunningApi

DOC_URI = "urn:bidserver:openapi"
METHODS = ("get", "put", "post", "patch", "delete")
_UNSET: Any = object()


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def code(self) -> str | None:
        """The error code of an error answer."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code: object = self.body["error"].get("code")
            return code if isinstance(code, str) else None
        return None


class OpenApi:
    """The document, its path templates and one validator per response schema."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOC_URI, resource)
        # Literal paths first, so /auctions/active never matches /auctions/{id}.
        templates: list[str] = sorted(doc["paths"], key=lambda p: (p.count("{"), p))
        self._paths = [
            (t, re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", t) + "$")) for t in templates
        ]
        self._validators: dict[str, Draft202012Validator] = {}

    def template(self, path: str) -> str | None:
        for template, pattern in self._paths:
            if pattern.match(path):
                return template
        return None

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        """Assert that this answer is one the document describes."""
        template = self.template(path)
        assert template is not None, f"{path} is not in the OpenAPI document"
        operation = self.doc["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not in the OpenAPI document"
        documented = operation["responses"]
        assert str(status) in documented, (
            f"{method} {template} answered {status}, documented: {sorted(documented)}; {body}"
        )
        response = documented[str(status)]
        pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{status}"
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self._resolve(pointer)
        content = response.get("content")
        if content is None:
            assert body is None, f"{method} {template} {status} should have no body: {body}"
            return
        pointer += "/content/application~1json/schema"
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{DOC_URI}#{pointer}"}, registry=self._registry
            )
            self._validators[pointer] = validator
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{method} {template} {status}: {errors[0].message} in {body}"

    def _resolve(self, pointer: str) -> dict[str, Any]:
        node: Any = self.doc
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict)
        return node


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=1)
def openapi() -> OpenApi:
    return OpenApi(document())


_serial = itertools.count(1)


def new_vin() -> str:
    return with_check_digit(f"1HGCM8260A{next(_serial):07d}")


def vehicle_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vin": new_vin(),
        "make": "Honda",
        "model": "Accord",
        "year": 2003,
        "mileage": 100_000,
        "color": "silver",
        "description": "one owner, full service history",
        "photos": ["https://img.example.com/1.jpg", "http://img.example.com/2.jpg"],
    }
    body.update(overrides)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expired_token(user_id: int, role: str = "bidder") -> str:
    issued = int(datetime.now(UTC).timestamp()) - 3600
    return mint_access(SECRET, user_id, role, issued, 900)


def forged_token(user_id: int, role: str = "admin") -> str:
    now = int(datetime.now(UTC).timestamp())
    return mint_access(b"not-the-server-secret-not-the-server", user_id, role, now, 900)


class Rest:
    """The running sidecar, called with JSON and checked against the document."""

    def __init__(self, api: RunningApi) -> None:
        self.api = api
        self.doc = openapi()

    @property
    def pool(self) -> Any:
        return self.api.pool

    def auth(self, user_id: int, role: str = "bidder") -> dict[str, str]:
        return self.api.auth(user_id, role)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        send_headers = dict(headers or {})
        if json is not _UNSET:
            data = jsonlib.dumps(json)
        if data is not None:
            send_headers.setdefault("Content-Type", "application/json")
        async with self.api.http.request(
            method, self.api.base + path, data=data, headers=send_headers, params=params
        ) as resp:
            raw = await resp.read()
            body = jsonlib.loads(raw) if raw else None
            reply = Reply(resp.status, body, dict(resp.headers))
        self.doc.check(method, path, reply.status, reply.body)
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("DELETE", path, **kwargs)
