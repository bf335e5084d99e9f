"""Typed application state of the sidecar (`web.AppKey`s), shared by every route module."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from bidserver.cluster.placement import Placement
from bidserver.config import Settings
from bidserver.engine.router import Router
from bidserver.health import Readiness
from bidserver.media.store import MediaStore
from bidserver.valuation.service import Valuer

POOL = web.AppKey("pool", asyncpg.Pool)
SECRET = web.AppKey("secret", bytes)
SETTINGS = web.AppKey("settings", Settings)
READINESS = web.AppKey("readiness", Readiness)
ROUTER = web.AppKey("router", Router)
VALUER = web.AppKey("valuer", Valuer)
PLACEMENT = web.AppKey("placement", Placement)
MEDIA = web.AppKey[MediaStore]("media")
