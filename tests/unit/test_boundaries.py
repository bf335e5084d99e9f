"""The walls between the wings, read from the import graph of every module in the product.

Each rule names a wing (a package prefix) and what it must never import. Every `import` of
every product module counts, inside functions and `TYPE_CHECKING` blocks too: a lazy import
crosses a wall as surely as one at the top. The checker is tested on made-up sources first,
so a rule that silently matches nothing cannot pass for a wall that holds.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parents[2]
PRODUCT: Final = ("bidserver", "httpapi", "storage")


@dataclass(frozen=True)
class Wall:
    wing: str
    forbidden: tuple[str, ...]
    why: str
    allowed: tuple[str, ...] = ()


WALLS: Final = (
    Wall(
        "bidserver.auction",
        ("bidserver", "httpapi", "storage", "bench"),
        "the rules core imports nothing of the project outside itself",
        allowed=("bidserver.auction",),
    ),
    Wall(
        "storage",
        ("bidserver.engine", "bidserver.gateway", "httpapi"),
        "storage is an adapter: it knows the ports, not who uses them",
    ),
    Wall(
        "bidserver.engine",
        ("bidserver.gateway", "httpapi"),
        "the engine serves both faces and knows neither",
    ),
    Wall("bidserver.gateway", ("httpapi",), "the two faces are siblings"),
    Wall("httpapi", ("bidserver.gateway",), "the two faces are siblings"),
    Wall(
        "bidserver.wire",
        ("bidserver.engine", "bidserver.gateway", "httpapi", "storage"),
        "the wire is representation only, shared by both faces and the fan-out",
    ),
    Wall(
        "bidserver.accounts",
        ("bidserver.engine", "bidserver.gateway", "httpapi", "storage"),
        "accounts serve both faces and the CLI",
    ),
    Wall(
        "bidserver.pricing",
        ("bidserver", "httpapi", "storage", "bench"),
        "the pricing model is pure, like the rules core: sales and `now` come in as arguments",
        allowed=("bidserver.pricing",),
    ),
    Wall(
        "bidserver.valuation",
        ("bidserver.engine", "bidserver.gateway", "httpapi", "storage"),
        "valuations never touch the bid path or a face; their store comes in as a port",
    ),
    Wall(
        "bidserver.media",
        ("bidserver", "httpapi", "storage"),
        "photos are bytes and pixels: the faces, storage and seed steps use them, not back",
        allowed=("bidserver.media",),
    ),
    Wall(
        "bidserver.cluster",
        ("bidserver.gateway", "httpapi", "storage"),
        "the cluster decides who owns what; the faces ask it, storage fences it",
    ),
    Wall(
        "bidserver.engine",
        ("bidserver.cluster",),
        "the engine knows the placement port and the shard hash, not how leases are held",
        allowed=("bidserver.cluster.placement", "bidserver.cluster.shards"),
    ),
    Wall(
        "httpapi.pages",
        ("bidserver.engine.actor", "bidserver.engine.registry", "storage.pool"),
        "pages are a face of the sidecar: the router and repositories, like its JSON routes",
    ),
    *(Wall(wing, ("bench",), "the product never depends on its benchmark") for wing in PRODUCT),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> list[tuple[str, Path]]:
    found = []
    for top in PRODUCT:
        for path in sorted((REPO / top).rglob("*.py")):
            found.append((module_name(path), path))
    return found


def imports_of(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every import; `from a import b` yields both `a` and `a.b` (b may be
    a submodule: `from bidserver import wire` imports `bidserver.wire`)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                kept = package[: len(package) - node.level + 1]
                base = ".".join([*kept, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def breaches(module: str, source: str, is_package: bool, label: str) -> list[str]:
    found = []
    for wall in WALLS:
        if not within(module, wall.wing):
            continue
        for line, name in imports_of(source, module, is_package):
            if any(within(name, ok) for ok in wall.allowed):
                continue
            if any(within(name, f) for f in wall.forbidden):
                found.append(f"{label}:{line} {module} imports {name}: {wall.why}")
    return sorted(set(found))


def test_every_wing_is_found() -> None:
    names = {name for name, _ in product_modules()}
    for wing in (
        "bidserver.auction",
        "bidserver.engine",
        "bidserver.gateway",
        "bidserver.wire",
        "bidserver.accounts",
        "bidserver.baseline",
        "bidserver.pricing",
        "bidserver.valuation",
        "bidserver.media",
        "bidserver.cluster",
        "storage",
        "httpapi",
        "httpapi.pages",
    ):
        assert wing in names, f"{wing} is missing: update the walls with the layout"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("bidserver.auction.rules", "from bidserver.errors import Unavailable"),
        ("bidserver.auction.rules", "from ...bidserver import metrics"),
        ("bidserver.auction.rules", "import storage.auctions"),
        ("storage.auctions", "from bidserver.engine.persister import WriteUnit"),
        ("storage.auctions", "from bidserver import engine"),
        ("bidserver.engine.actor", "from bidserver.gateway.session import Session"),
        ("bidserver.engine.actor", "def f():\n    import httpapi.app"),
        ("bidserver.gateway.session", "from httpapi import errors"),
        ("httpapi.app", "from bidserver.gateway.outbox import Outbox"),
        ("bidserver.wire.server", "from bidserver.engine import mailbox"),
        ("bidserver.accounts.tokens", "import storage.users"),
        ("httpapi.app", "import bench.cli"),
        ("bidserver.node", "from bench import cli"),
        ("storage.seed", "import bench"),
        ("bidserver.pricing.book", "from bidserver.timefmt import now_ms"),
        ("bidserver.pricing.fit", "import storage.sales"),
        ("bidserver.valuation.service", "from storage.sales import PgSales"),
        ("bidserver.valuation.service", "from bidserver.engine.router import Router"),
        ("bidserver.media.images", "from bidserver.errors import BadRequest"),
        ("bidserver.media.store", "import storage.photos"),
        ("httpapi.pages.bidder", "from bidserver.engine.registry import Registry"),
        ("bidserver.cluster.leases", "from storage.auctions import take_over"),
        ("bidserver.cluster.leases", "from httpapi.keys import POOL"),
        ("bidserver.engine.registry", "from bidserver.cluster.leases import LeasePlacement"),
        ("bidserver.engine.registry", "from bidserver.cluster import leases"),
    ],
)
def test_the_checker_catches_a_breach(module: str, source: str) -> None:
    assert breaches(module, source, False, "x.py"), f"{source!r} in {module} was not caught"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("bidserver.auction.rules", "from bidserver.auction.errors import BidTooLow"),
        ("bidserver.auction.rules", "from .state import AuctionState"),
        ("storage.auctions", "from bidserver.ports import AppendItem"),
        ("storage.auctions", "from bidserver.auction import replay"),
        ("bidserver.engine.actor", "from bidserver.wire import Frames"),
        ("bidserver.gateway.session", "from bidserver.engine.handles import Directory"),
        ("httpapi.auctions", "from bidserver.engine.router import Router"),
        ("httpapi.auctions", "from bidserver import wire"),
        ("bidserver.node", "from bidserver.gateway.server import Gateway"),
        ("bidserver.node", "from httpapi.app import create_app"),
        ("bidserver.pricing.value", "from bidserver.pricing.book import Book"),
        ("bidserver.valuation.service", "from bidserver.pricing import build"),
        ("storage.sales", "from bidserver.pricing import SalesColumns"),
        ("httpapi.valuations", "from bidserver.valuation.service import Valuer"),
        ("bidserver.media.images", "from PIL import Image"),
        ("bidserver.media.demo", "from bidserver.media.images import encoded"),
        ("httpapi.photos", "from bidserver.media.store import MediaStore"),
        ("bidserver.engine.registry", "from bidserver.cluster.placement import Placement"),
        ("bidserver.engine.registry", "from bidserver.cluster.shards import shard_of"),
        ("bidserver.cluster.leases", "from bidserver import metrics"),
    ],
)
def test_the_checker_allows_what_the_layout_allows(module: str, source: str) -> None:
    assert breaches(module, source, False, "x.py") == []


@pytest.mark.parametrize(
    ("module", "path"), product_modules(), ids=[name for name, _ in product_modules()]
)
def test_no_module_crosses_a_wall(module: str, path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = breaches(module, source, path.name == "__init__.py", str(path.relative_to(REPO)))
    assert not found, "\n".join(found)
