"""What `bidserver COMMAND --help` says about each setting: its group, value and meaning.

Kept beside, not inside, `config.DEFAULTS` so the parsing stays one table. A setting added
to `DEFAULTS` without an entry here still gets a flag (in the group "other settings"), and
`tests/unit/test_cli_help.py` fails until it is described.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bidserver.config import DEFAULTS


@dataclass(frozen=True, slots=True)
class SettingHelp:
    group: str
    metavar: str
    text: str
    default: str | None = None  # shown instead of the raw default when that says too little


NODE: Final = "what this node does"
NETWORK: Final = "network"
STORAGE: Final = "database and data"
SECURITY: Final = "security"
LIMITS: Final = "limits"
LOGGING: Final = "logging"
OTHER: Final = "other settings"

GROUP_ORDER: Final = (NODE, NETWORK, STORAGE, SECURITY, LIMITS, LOGGING, OTHER)

SETTINGS: Final[dict[str, SettingHelp]] = {
    "BIDSERVER_NODE_ID": SettingHelp(
        NODE, "NAME", "this node's name in logs and in the cluster", "host name + pid"
    ),
    "BIDSERVER_ACK_MODE": SettingHelp(
        NODE,
        "{durable,memory}",
        "durable: a bid is acknowledged and broadcast only after it is committed;"
        " memory: acknowledged at once, persisted behind",
    ),
    "BIDSERVER_DEMO": SettingHelp(
        NODE,
        "{off,on}",
        "on: keep the demo auctions of `seed-demo` alive, replacing those that close"
        " (`make run` turns it on)",
    ),
    "BIDSERVER_HOST": SettingHelp(NETWORK, "ADDRESS", "address both ports bind to"),
    "BIDSERVER_WS_PORT": SettingHelp(NETWORK, "PORT", "WebSocket gateway port (/ws)"),
    "BIDSERVER_HTTP_PORT": SettingHelp(NETWORK, "PORT", "REST sidecar and web pages port"),
    "BIDSERVER_ALLOWED_ORIGINS": SettingHelp(
        NETWORK,
        "ORIGINS",
        "comma-separated browser origins allowed to open a WebSocket (exact match)",
        "this node's own REST origins",
    ),
    "BIDSERVER_CORS_ORIGINS": SettingHelp(
        NETWORK,
        "ORIGINS",
        "comma-separated origins whose pages may call the REST API (CORS), or * for any"
        " origin without credentials",
        "none",
    ),
    "BIDSERVER_PRICING_URL": SettingHelp(
        NODE,
        "URL",
        "http(s):// of an external pricing service, asked first for valuations (1 s;"
        " its failures leave the answer to the marketplace's own sales)",
        "none: valuations from the marketplace's own sales",
    ),
    "BIDSERVER_DATABASE_URL": SettingHelp(
        STORAGE,
        "URL",
        "postgresql://… of the database",
        "an embedded PostgreSQL in the data dir",
    ),
    "BIDSERVER_DATA_DIR": SettingHelp(
        STORAGE,
        "DIR",
        "embedded database files and generated secrets; one node at a time holds it",
    ),
    "BIDSERVER_MEDIA_BUCKET": SettingHelp(
        STORAGE,
        "BUCKET",
        "S3 bucket that keeps vehicle photos (credentials, region and endpoint from the AWS"
        " SDK's environment: a task role, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3)",
        "none: photos in DATA_DIR/media",
    ),
    "BIDSERVER_MEDIA_URL": SettingHelp(
        STORAGE,
        "URL",
        "public http(s):// base of that bucket's photos (a CDN such as CloudFront): pages"
        " link photos there and /media/NAME redirects there",
        "none: this node serves /media/NAME",
    ),
    "BIDSERVER_REDIS_URL": SettingHelp(
        STORAGE,
        "URL",
        "redis://… shared by every node of a cluster",
        "none: a single node that owns every auction",
    ),
    "BIDSERVER_CLUSTER_PORT": SettingHelp(
        NETWORK, "PORT", "node-to-node port of a cluster (on BIDSERVER_HOST); with Redis only"
    ),
    "BIDSERVER_ADVERTISE_HOST": SettingHelp(
        NETWORK,
        "ADDRESS",
        "the address other nodes of the cluster use to reach this one",
        "BIDSERVER_HOST (127.0.0.1 when that is 0.0.0.0)",
    ),
    "BIDSERVER_LEASE_MS": SettingHelp(
        NODE,
        "MILLISECONDS",
        "how long a node's hold on its auctions outlives its last renewal in Redis; a dead"
        " node's auctions move within this plus one second",
    ),
    "BIDSERVER_CLUSTER_NAME": SettingHelp(
        NODE,
        "NAME",
        "nodes sharing Redis and this name form one cluster (their Redis keys start with it)",
    ),
    "BIDSERVER_CLUSTER_SECRET": SettingHelp(
        SECURITY,
        "SECRET",
        "shared by every node of a cluster, at least 32 bytes; a peer without it is refused",
        "derived from BIDSERVER_JWT_SECRET",
    ),
    "BIDSERVER_JWT_SECRET": SettingHelp(
        SECURITY,
        "SECRET",
        "HS256 key of access tokens, at least 32 bytes",
        "generated into the data dir in embedded mode, else required",
    ),
    "BIDSERVER_HTTP_RATE_LIMIT": SettingHelp(
        LIMITS, "COUNT/SECONDS", "REST requests per client IP and window; 0 turns it off"
    ),
    "BIDSERVER_TRUSTED_PROXIES": SettingHelp(
        LIMITS,
        "CIDRS",
        "comma-separated networks of the proxies (a load balancer) whose X-Forwarded-For"
        " names the client, for rate limits and logs",
        "none: the TCP peer is the client",
    ),
    "BIDSERVER_WS_RATE_LIMIT": SettingHelp(
        LIMITS, "RATE/BURST", "WebSocket messages per second per connection, sustained/burst"
    ),
    "BIDSERVER_LOG_LEVEL": SettingHelp(
        LOGGING,
        "{debug,info,warning,error}",
        "logs are one JSON object per line on stderr",
    ),
}

# The settings the commands other than `serve` read: where the database is.
DATABASE_SETTINGS: Final = ("BIDSERVER_DATABASE_URL", "BIDSERVER_DATA_DIR")
# And `seed-demo`, which stores the demo photos: where photos are kept.
MEDIA_SETTINGS: Final = ("BIDSERVER_MEDIA_BUCKET", "BIDSERVER_MEDIA_URL")


def describe(name: str) -> SettingHelp:
    """The help of a setting; an undescribed one still gets a flag, and a test complains."""
    return SETTINGS.get(name, SettingHelp(OTHER, "VALUE", "see CONTRACT.md"))


def default_text(name: str) -> str:
    shown = describe(name).default
    if shown is not None:
        return shown
    default = DEFAULTS.get(name)
    return "unset" if default is None else default


def flag(name: str) -> str:
    """`BIDSERVER_WS_PORT` -> `--ws-port`."""
    return "--" + name.removeprefix("BIDSERVER_").lower().replace("_", "-")
