"""Settings: one frozen dataclass built from the environment (and `serve` flags).

Every setting of CONTRACT §1 is parsed and checked here, so that a node with an unusable
setting stops at start-up with one line naming it instead of failing later under load.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from bidserver.clientip import Network, parse_networks

Role = Literal["all", "ws", "http"]
Engine = Literal["actor", "rowlock"]
AckMode = Literal["durable", "memory"]

T = TypeVar("T", bound=str)

MIN_SECRET_BYTES = 32
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingError(ValueError):
    """An unusable setting; the message starts with the variable's name."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


@dataclass(frozen=True, slots=True)
class HttpRateLimit:
    count: int
    window_s: int


@dataclass(frozen=True, slots=True)
class WsRateLimit:
    per_second: int
    burst: int


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    data_dir: Path
    host: str
    ws_port: int
    http_port: int
    node_id: str
    jwt_secret: bytes | None
    allowed_origins: frozenset[str]
    http_rate_limit: HttpRateLimit | None
    ws_rate_limit: WsRateLimit
    ack_mode: AckMode
    log_level: str
    trusted_proxies: tuple[Network, ...] = ()
    role: Role = "all"
    engine: Engine = "actor"
    cors_origins: frozenset[str] = frozenset()  # "*" in it: any origin, never credentials
    demo: bool = False  # keep the demo auctions alive (`make run`)
    pricing_url: str | None = None  # CONTRACT §8: an external pricing service, asked first
    # CONTRACT §7: only used with redis_url.
    cluster_port: int = 8766
    advertise_host: str = "127.0.0.1"
    cluster_secret: bytes | None = None  # None: derived from the JWT secret at start-up
    lease_ms: int = 2000
    cluster_name: str = "bidserver"
    media_bucket: str | None = None  # photos in this S3 bucket instead of DATA_DIR/media
    media_url: str | None = None  # the CDN in front of that bucket, e.g. https://d1.cloudfront.net

    @property
    def embedded(self) -> bool:
        """Without a database URL the node runs its own PostgreSQL in the data dir."""
        return self.database_url is None


# name -> default; None means unset.
DEFAULTS: dict[str, str | None] = {
    "BIDSERVER_DATABASE_URL": None,
    "BIDSERVER_REDIS_URL": None,
    "BIDSERVER_DATA_DIR": "./.bidserver",
    "BIDSERVER_HOST": "127.0.0.1",
    "BIDSERVER_WS_PORT": "8765",
    "BIDSERVER_HTTP_PORT": "8080",
    "BIDSERVER_NODE_ID": None,
    "BIDSERVER_JWT_SECRET": None,
    "BIDSERVER_ALLOWED_ORIGINS": None,
    "BIDSERVER_HTTP_RATE_LIMIT": "2000/300",
    "BIDSERVER_TRUSTED_PROXIES": "",
    "BIDSERVER_WS_RATE_LIMIT": "50/200",
    "BIDSERVER_ACK_MODE": "durable",
    "BIDSERVER_LOG_LEVEL": "info",
    "BIDSERVER_CORS_ORIGINS": None,
    "BIDSERVER_DEMO": "off",
    "BIDSERVER_PRICING_URL": None,
    "BIDSERVER_CLUSTER_PORT": "8766",
    "BIDSERVER_ADVERTISE_HOST": None,
    "BIDSERVER_CLUSTER_SECRET": None,
    "BIDSERVER_LEASE_MS": "2000",
    "BIDSERVER_CLUSTER_NAME": "bidserver",
    "BIDSERVER_MEDIA_BUCKET": None,
    "BIDSERVER_MEDIA_URL": None,
}

MIN_LEASE_MS = 200
MAX_LEASE_MS = 600_000


def load_settings(
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
    *,
    role: Role = "all",
    engine: Engine = "actor",
    need_secret: bool = True,
) -> Settings:
    """Read every BIDSERVER_* variable; `overrides` (from flags) win over the environment.

    Only a node signs tokens: the other commands (`migrate`, `seed-demo`, …) need no secret.
    """
    source = dict(os.environ if env is None else env)
    for name, value in (overrides or {}).items():
        if value is not None:
            source[name] = value

    def get(name: str) -> str | None:
        value = source.get(name, DEFAULTS[name])
        return value if value not in (None, "") else DEFAULTS[name]

    host = get("BIDSERVER_HOST") or "127.0.0.1"
    http_port = _port("BIDSERVER_HTTP_PORT", get("BIDSERVER_HTTP_PORT"))
    database_url = _url("BIDSERVER_DATABASE_URL", get("BIDSERVER_DATABASE_URL"), _PG_SCHEMES)
    return Settings(
        database_url=database_url,
        redis_url=_url("BIDSERVER_REDIS_URL", get("BIDSERVER_REDIS_URL"), _REDIS_SCHEMES),
        data_dir=Path(get("BIDSERVER_DATA_DIR") or ".bidserver"),
        host=host,
        ws_port=_port("BIDSERVER_WS_PORT", get("BIDSERVER_WS_PORT")),
        http_port=http_port,
        node_id=get("BIDSERVER_NODE_ID") or f"{socket.gethostname()}-{os.getpid()}",
        jwt_secret=_secret(
            get("BIDSERVER_JWT_SECRET"), embedded=database_url is None or not need_secret
        ),
        allowed_origins=_origins(get("BIDSERVER_ALLOWED_ORIGINS"), host, http_port),
        http_rate_limit=_http_rate(get("BIDSERVER_HTTP_RATE_LIMIT") or ""),
        ws_rate_limit=_ws_rate(get("BIDSERVER_WS_RATE_LIMIT") or ""),
        ack_mode=_choice("BIDSERVER_ACK_MODE", get("BIDSERVER_ACK_MODE"), ("durable", "memory")),
        log_level=_choice("BIDSERVER_LOG_LEVEL", get("BIDSERVER_LOG_LEVEL"), LOG_LEVELS),
        trusted_proxies=_proxies(get("BIDSERVER_TRUSTED_PROXIES") or ""),
        role=role,
        engine=engine,
        cors_origins=_cors(get("BIDSERVER_CORS_ORIGINS")),
        demo=_choice("BIDSERVER_DEMO", get("BIDSERVER_DEMO"), ("off", "on")) == "on",
        pricing_url=_url("BIDSERVER_PRICING_URL", get("BIDSERVER_PRICING_URL"), _HTTP_SCHEMES),
        cluster_port=_port("BIDSERVER_CLUSTER_PORT", get("BIDSERVER_CLUSTER_PORT")),
        advertise_host=get("BIDSERVER_ADVERTISE_HOST") or _reachable(host),
        cluster_secret=_cluster_secret(get("BIDSERVER_CLUSTER_SECRET")),
        lease_ms=_lease_ms(get("BIDSERVER_LEASE_MS")),
        cluster_name=_cluster_name(get("BIDSERVER_CLUSTER_NAME")),
        media_bucket=_bucket(get("BIDSERVER_MEDIA_BUCKET")),
        media_url=_media_url(get("BIDSERVER_MEDIA_URL"), get("BIDSERVER_MEDIA_BUCKET")),
    )


_PG_SCHEMES = ("postgresql://", "postgres://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_HTTP_SCHEMES = ("http://", "https://")


def _url(name: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not value.startswith(schemes):
        raise SettingError(name, f"must start with {' or '.join(schemes)}")
    return value


# S3's rules for a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _bucket(value: str | None) -> str | None:
    if value is not None and _BUCKET.fullmatch(value) is None:
        raise SettingError("BIDSERVER_MEDIA_BUCKET", f"not an S3 bucket name: {value[:80]!r}")
    return value


def _media_url(value: str | None, bucket: str | None) -> str | None:
    """The public base URL of the photos (a CDN over the bucket): scheme, host, maybe a path."""
    name = "BIDSERVER_MEDIA_URL"
    if value is None:
        return None
    if bucket is None:
        raise SettingError(name, "serves the photos of BIDSERVER_MEDIA_BUCKET, which is unset")
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or parts.query or parts.fragment or any(c.isspace() for c in value):
        raise SettingError(name, f"expected http(s)://host[/path], got {value[:80]!r}")
    return value.rstrip("/")


def _port(name: str, value: str | None) -> int:
    try:
        port = int(value or "")
    except ValueError:
        raise SettingError(name, f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise SettingError(name, f"port out of range: {port}")
    return port


def _secret(value: str | None, *, embedded: bool) -> bytes | None:
    name = "BIDSERVER_JWT_SECRET"
    if value is None:
        if embedded:
            return None  # generated into the data dir at start-up
        raise SettingError(name, "required when BIDSERVER_DATABASE_URL is set")
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise SettingError(name, f"must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def _reachable(host: str) -> str:
    """What peers can dial when the node binds every address."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _cluster_secret(value: str | None) -> bytes | None:
    if value is None:
        return None
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise SettingError("BIDSERVER_CLUSTER_SECRET", f"must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def _lease_ms(value: str | None) -> int:
    name = "BIDSERVER_LEASE_MS"
    try:
        lease = int(value or "")
    except ValueError:
        raise SettingError(name, f"not a whole number of milliseconds: {value!r}") from None
    if not MIN_LEASE_MS <= lease <= MAX_LEASE_MS:
        raise SettingError(name, f"must be between {MIN_LEASE_MS} and {MAX_LEASE_MS}, got {lease}")
    return lease


def _cluster_name(value: str | None) -> str:
    name = value or "bidserver"
    plain = name.translate(str.maketrans("", "", "-_.:"))
    if not (plain.isascii() and plain.isalnum()) or len(name) > 64:
        raise SettingError(
            "BIDSERVER_CLUSTER_NAME", f"letters, digits, '-_.:', at most 64: {name!r}"
        )
    return name


def _origins(value: str | None, host: str, http_port: int) -> frozenset[str]:
    if value is not None:
        return frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    hosts = {"localhost", "127.0.0.1", host}
    return frozenset(f"http://{h}:{http_port}" for h in hosts)


def _cors(value: str | None) -> frozenset[str]:
    """Exact origins (scheme://host[:port]) or `*`; a path or a typo is refused at start-up."""
    name = "BIDSERVER_CORS_ORIGINS"
    origins = frozenset(o.strip().rstrip("/") for o in (value or "").split(",") if o.strip())
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if origin != "*" and (
            scheme not in ("http", "https") or not sep or not rest or "/" in rest
        ):
            raise SettingError(name, f"not an origin (scheme://host[:port] or *): {origin!r}")
    if "*" in origins and len(origins) > 1:
        raise SettingError(name, "* allows every origin: list origins or give * alone")
    return origins


def _proxies(value: str) -> tuple[Network, ...]:
    try:
        return parse_networks(value)
    except ValueError as exc:
        raise SettingError("BIDSERVER_TRUSTED_PROXIES", f"{exc} (expected CIDRs)") from None


def _http_rate(value: str) -> HttpRateLimit | None:
    name = "BIDSERVER_HTTP_RATE_LIMIT"
    if value.strip() == "0":
        return None
    count, window = _pair(name, value, "count/window-seconds")
    return HttpRateLimit(count, window)


def _ws_rate(value: str) -> WsRateLimit:
    per_second, burst = _pair("BIDSERVER_WS_RATE_LIMIT", value, "sustained/burst")
    return WsRateLimit(per_second, max(burst, per_second))


def _pair(name: str, value: str, shape: str) -> tuple[int, int]:
    left, sep, right = value.partition("/")
    try:
        a, b = int(left), int(right)
    except ValueError:
        raise SettingError(name, f"expected {shape}, got {value!r}") from None
    if not sep or a <= 0 or b <= 0:
        raise SettingError(name, f"expected two positive integers as {shape}, got {value!r}")
    return a, b


def _choice(name: str, value: str | None, choices: tuple[T, ...]) -> T:
    for choice in choices:
        if value == choice:
            return choice
    raise SettingError(name, f"must be one of {', '.join(choices)}, got {value!r}")
