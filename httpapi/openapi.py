"""`GET /openapi.json`: the OpenAPI 3.1 document of every REST route (CONTRACT §4).

The document is `httpapi/openapi.json`, edited by hand and kept true by
`tests/integration/test_openapi.py` (every registered route is in it and vice versa, real
responses validate against it, and a schemathesis run fuzzes the live server with it). The
one value that depends on the clock, the latest model year a vehicle may have (and may be
valued at), is filled in when the document is served.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from aiohttp import web

from httpapi.vehicles import latest_model_year


@lru_cache(maxsize=1)
def _stored() -> str:
    return resources.files("httpapi").joinpath("openapi.json").read_text(encoding="utf-8")


def document() -> dict[str, Any]:
    """The document as served now (a fresh copy the caller may change)."""
    doc: dict[str, Any] = copy.deepcopy(json.loads(_stored()))
    for name in ("VehicleInput", "VehiclePatch"):
        doc["components"]["schemas"][name]["properties"]["year"]["maximum"] = latest_model_year()
    for parameter in doc["paths"]["/valuations"]["get"]["parameters"]:
        if parameter["name"] == "year":
            parameter["schema"]["maximum"] = latest_model_year()
    return doc


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())


def add_routes(app: web.Application) -> None:
    """Registered by the application factory."""
    app.router.add_get("/openapi.json", openapi_json)
