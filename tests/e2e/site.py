"""A real node for the browser tests: `bidserver serve` in a child process on a database of
its own, the demo-like accounts the tests log in with, and REST helpers that set the scene.

The node can be stopped and started again on the same ports (a page's WebSocket drops and
must come back by itself). Start-up waits for `GET /ready`, polled with a bound: the one
wait here that has no event to wake it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bidserver.accounts.passwords import hash_password
from bidserver.demo_history import HistoricalSale
from bidserver.vin import with_check_digit
from tests.cluster.nodeproc import _command, free_port
from tests.support import SECRET, token_for

READY_TIMEOUT_S = 30.0
READY_POLL_S = 0.05
STOP_TIMEOUT_S = 30.0
_serial = itertools.count(1)


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    role: str
    id: int
    name: str

    @property
    def token(self) -> str:
        return token_for(self.id, self.role)


@dataclass
class Site:
    dsn: str
    data_dir: Path
    http_port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    accounts: dict[str, Account] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    http: aiohttp.ClientSession | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "node.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
        env.update(
            BIDSERVER_DATABASE_URL=self.dsn,
            BIDSERVER_JWT_SECRET=SECRET.decode(),
            BIDSERVER_HOST="127.0.0.1",
            BIDSERVER_WS_PORT=str(self.ws_port),
            BIDSERVER_HTTP_PORT=str(self.http_port),
            BIDSERVER_DATA_DIR=str(self.data_dir),
            BIDSERVER_LOG_LEVEL="warning",
        )
        return env

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                *_command(),
                "serve",
                env=self._environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
            )
        if self.http is None:
            self.http = aiohttp.ClientSession()
        async with asyncio.timeout(READY_TIMEOUT_S):
            while not await self._ready():
                if self.process.returncode is not None:
                    raise AssertionError(f"node exited {self.process.returncode}:\n{self.log()}")
                await asyncio.sleep(READY_POLL_S)

    async def _ready(self) -> bool:
        assert self.http is not None
        try:
            async with self.http.get(f"{self.base}/ready") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def close(self) -> None:
        await self.stop()
        if self.http is not None:
            await self.http.close()

    # --- REST ------------------------------------------------------------------------------

    async def call(
        self, method: str, path: str, who: Account | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        assert self.http is not None
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("Accept", "application/json")
        if who is not None:
            headers["Authorization"] = f"Bearer {who.token}"
        async with self.http.request(method, self.base + path, headers=headers, **kwargs) as r:
            body = await r.json() if r.content_type == "application/json" else await r.read()
            return r.status, body

    async def vehicle(self, seller: Account, **fields: Any) -> dict[str, Any]:
        body = {
            "vin": new_vin(),
            "make": "Toyota",
            "model": "Camry",
            "year": 2019,
            "mileage": 42_000,
            "color": "Blue",
            "description": "A test car.",
            **fields,
        }
        status, made = await self.call("POST", "/vehicles", seller, json=body)
        assert status == 201, made
        assert isinstance(made, dict)
        return made

    async def photo(self, vehicle_id: int, data: bytes) -> dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename="car.png", content_type="image/png")
        status, body = await self.call(
            "POST", f"/vehicles/{vehicle_id}/photos", self.accounts["seller"], data=form
        )
        assert status == 201, body
        assert isinstance(body, dict)
        return body

    async def auction(
        self,
        *,
        ends_in: timedelta = timedelta(hours=1),
        starting_price: int = 20_000,
        photo: bytes | None = None,
        vehicle: dict[str, Any] | None = None,
        **terms: Any,
    ) -> int:
        seller = self.accounts["seller"]
        if vehicle is None:
            vehicle = await self.vehicle(seller)
        if photo is not None:
            await self.photo(vehicle["id"], photo)
        now = datetime.now(UTC)
        body = {
            "vehicleId": vehicle["id"],
            "startsAt": iso(now - timedelta(seconds=1)),
            "endsAt": iso(now + ends_in),
            "startingPrice": starting_price,
            **terms,
        }
        status, made = await self.call("POST", "/auctions", seller, json=body)
        assert status == 201, made
        auction_id: int = made["id"]
        return auction_id

    async def bid(self, who: Account, auction_id: int, amount: int) -> dict[str, Any]:
        status, body = await self.call(
            "POST", f"/auctions/{auction_id}/bid", who, json={"amount": amount}
        )
        assert status == 201, body
        assert isinstance(body, dict)
        return body

    async def past_sales(self, sales: list[HistoricalSale]) -> None:
        """Record these as the marketplace's past sales (as `seed-demo` loads its history)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.copy_records_to_table(
                "sales",
                records=[
                    (s.make, s.model, s.year, s.mileage, s.price, s.sold_at, "history")
                    for s in sales
                ],
                columns=("make", "model", "year", "mileage", "price", "sold_at", "source"),
            )
        finally:
            await conn.close()


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def new_vin() -> str:
    return with_check_digit(f"1HGCM8260A{next(_serial) + 500_000:07d}")


ACCOUNTS = (
    ("bidder", "bidder-a@e2e.test", "bidder-a-password", "Bidder A"),
    ("bidder2", "bidder-b@e2e.test", "bidder-b-password", "Bidder B"),
    ("seller", "seller@e2e.test", "seller-password-1", "Seller Motors"),
    ("admin", "admin@e2e.test", "admin-password-1", "Site Admin"),
)


async def make_accounts(dsn: str) -> dict[str, Account]:
    conn = await asyncpg.connect(dsn)
    try:
        made = {}
        for key, email, password, name in ACCOUNTS:
            role = "bidder" if key.startswith("bidder") else key
            user_id = await conn.fetchval(
                "INSERT INTO users (email, password_hash, display_name, role)"
                " VALUES ($1, $2, $3, $4) RETURNING id",
                email,
                await hash_password(password),
                name,
                role,
            )
            made[key] = Account(email, password, role, user_id, name)
        return made
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def running_site(dsn: str, data_dir: Path) -> Any:
    site = Site(dsn, data_dir)
    await site.start()  # migrates the database
    site.accounts = await make_accounts(dsn)
    try:
        yield site
    finally:
        await site.close()
