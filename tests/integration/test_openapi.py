"""`GET /openapi.json` is kept true: routes match the document, and the live server obeys it.

(a) every route of the sidecar is in the document and every documented operation is a route;
(b) the REST suites validate every answer they get against the document (`rest.Rest`), and
    the document itself is valid JSON Schema 2020-12 throughout;
(c) schemathesis fuzzes the running sidecar with the document: no 5xx, responses conform,
    and data the document calls invalid is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from jsonschema import Draft202012Validator

from bidserver.config import load_settings
from bidserver.engine.router import Router
from bidserver.health import Readiness
from bidserver.wiring import Engine
from httpapi.app import create_app
from httpapi.openapi import document
from tests.integration.rest import METHODS, OpenApi, Rest, openapi
from tests.support import SECRET, make_auction, make_user, running_api, token_for

# Served on every port for operators and probes, not part of the REST API of §4.
NOT_API = frozenset(
    {"/health", "/ready", "/metrics", "/docs", "/docs/vendor/{version}/{name}"}
)  # /docs: a page for people, rendering this document
SCHEMATHESIS_TIMEOUT_S = 75


def _settings(dsn: str, **extra: str) -> Any:
    return load_settings(
        {"BIDSERVER_DATABASE_URL": dsn, "BIDSERVER_JWT_SECRET": SECRET.decode(), **extra}
    )


def registered_operations(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        if route.handler.__module__.startswith("httpapi.pages."):
            continue  # the web pages of CONTRACT §5, not part of the REST API
        path = resource.canonical
        if route.method in ("HEAD", "OPTIONS", "*") or path in NOT_API:
            continue
        found.add((route.method, path))
    return found


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


async def test_every_route_is_documented_and_every_operation_is_routed(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    app = create_app(_settings(pg_dsn), pg_dsn, SECRET, Readiness(db), Router(Engine(db).registry))
    routes = registered_operations(app)
    documented = documented_operations(document())
    assert routes - documented == set(), "routes missing from httpapi/openapi.json"
    assert documented - routes == set(), "documented operations the sidecar does not serve"


def test_the_contract_table_is_documented() -> None:
    """Every row of CONTRACT §4, whoever implements it."""
    rows = {
        ("POST", "/auth/register"), ("POST", "/auth/login"), ("POST", "/auth/refresh"),
        ("GET", "/me"), ("GET", "/vehicles"), ("GET", "/vehicles/{id}"), ("POST", "/vehicles"),
        ("PATCH", "/vehicles/{id}"), ("DELETE", "/vehicles/{id}"), ("POST", "/auctions"),
        ("GET", "/auctions"), ("GET", "/auctions/active"), ("GET", "/auctions/{id}"),
        ("POST", "/auctions/{id}/bid"), ("POST", "/auctions/{id}/max-bid"),
        ("POST", "/auctions/{id}/buy-now"), ("POST", "/auctions/{id}/cancel"),
        ("GET", "/auctions/{id}/bids"), ("GET", "/openapi.json"),
    }  # fmt: skip
    assert rows <= documented_operations(document())


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _check_response(method: str, path: str, status: str, response: dict[str, Any]) -> None:
    if "$ref" in response:
        return
    if status == "302":  # a redirect has no body, only where to go
        assert "Location" in response["headers"], (method, path)
    elif status != "204":
        assert "content" in response, (method, path, status)


def test_the_document_is_well_formed() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert name
    checker = OpenApi(doc)
    for node in _walk(doc):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert checker._resolve(ref.removeprefix("#")), ref
    for path, item in doc["paths"].items():
        for method in (m for m in item if m in METHODS):
            operation = item[method]
            for status, response in operation["responses"].items():
                _check_response(method, path, status, response)
            assert "429" in operation["responses"], (method, path)
            body = operation.get("requestBody")
            if body is not None:
                content = body["content"]
                schema = (content.get("application/json") or content["multipart/form-data"])[
                    "schema"
                ]
                target = checker._resolve(schema["$ref"].removeprefix("#"))
                assert target["additionalProperties"] is False, (method, path)


def test_money_is_an_integer_from_1_to_10_to_the_12() -> None:
    doc = document()
    money = doc["components"]["schemas"]["Money"]
    assert (money["type"], money["minimum"], money["maximum"]) == ("integer", 1, 10**12)
    money_fields = ("startingPrice", "reservePrice", "amount", "maxAmount", "currentPrice")
    for node in _walk(doc["components"]["schemas"]):
        for name in money_fields:
            field = node.get("properties", {}).get(name)
            if field is not None:
                assert "Money" in json.dumps(field), name


def test_the_latest_model_year_is_filled_in() -> None:
    year = document()["components"]["schemas"]["VehicleInput"]["properties"]["year"]
    assert year["maximum"] == datetime.now(UTC).year + 1


def test_the_checker_catches_a_wrong_answer() -> None:
    checker = openapi()
    page = {"items": [{"id": 1}], "page": 1, "limit": 20, "total": 1, "totalExact": True}
    with pytest.raises(AssertionError, match="is a required property"):
        checker.check("GET", "/auctions/active", 200, page)
    with pytest.raises(AssertionError, match="is not of type 'integer'"):
        checker.check(
            "GET",
            "/vehicles",
            200,
            {"items": [], "page": "1", "limit": 20, "total": 0, "totalExact": True},
        )
    with pytest.raises(AssertionError, match="documented"):
        checker.check("GET", "/vehicles/1", 418, None)
    checker.check("GET", "/vehicles/1", 404, {"error": {"code": "not_found", "message": "x"}})


async def test_the_document_is_served(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with running_api(db, pg_dsn) as api:
        rest = Rest(api)
        reply = await rest.get("/openapi.json")
    assert reply.status == 200
    assert reply.body == document()


# --- (c) schemathesis ------------------------------------------------------------------------


def _schemathesis() -> list[str]:
    st = Path(sys.executable).with_name("st")
    if not st.exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    return [str(st)]


async def test_schemathesis_finds_no_server_error_and_no_drift(
    db: asyncpg.Pool, pg_dsn: str, tmp_path: Path
) -> None:
    command = _schemathesis()
    admin = await make_user(db, "admin")
    # Real auctions for the bid routes, so their fuzzing reaches the rules, not just a 404.
    bidding, _ = await make_auction(db, starting_price=1000)
    buying, _ = await make_auction(db, buy_now_price=50_000)
    (tmp_path / "schemathesis.toml").write_text(
        "[[operations]]\n"
        'include-path-regex = "^/auctions/\\\\{id\\\\}(/bid|/max-bid|/bids)?$"\n'
        f'parameters = {{ "path.id" = {bidding} }}\n'
        "[[operations]]\n"
        'include-path = "/auctions/{id}/buy-now"\n'
        f'parameters = {{ "path.id" = {buying} }}\n'
    )
    settings = _settings(
        pg_dsn, BIDSERVER_HTTP_RATE_LIMIT="0", BIDSERVER_WS_RATE_LIMIT="100000/100000"
    )
    async with running_api(db, pg_dsn, settings=settings) as api:
        args = [
            *command,
            "run",
            f"{api.base}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "negative_data_rejection",
            "--max-examples",
            "20",
            "--seed",
            "20261128",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-database",
            "none",
            "--request-timeout",
            "10",
            # One worker: CPython 3.11's ast.parse is not thread-safe ("AST constructor
            # recursion depth mismatch"), and Hypothesis parses lambdas in each worker.
            "--workers",
            "1",
            "--no-color",
            "--header",
            f"Authorization: Bearer {token_for(admin, 'admin')}",
        ]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), SCHEMATHESIS_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"schemathesis ran over {SCHEMATHESIS_TIMEOUT_S} s")
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert re.search(r"\b\d+ passed\b|\bpassed\b", text), text[-2000:]
