"""The `bidserver` console script's create-user and seed-demo, run as real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from argon2 import PasswordHasher

from bidserver import demo
from bidserver.vin import is_valid_vin
from tests.conftest import with_database
from tests.support import SECRET

SCRIPT = Path(sys.executable).with_name("bidserver")
CLI_TIMEOUT_S = 60.0


@dataclass
class Run:
    code: int
    out: str
    err: str


async def bidserver(dsn: str, data_dir: Path, *args: str) -> Run:
    env = {
        **os.environ,
        "BIDSERVER_DATABASE_URL": dsn,
        "BIDSERVER_JWT_SECRET": SECRET.decode(),
        "BIDSERVER_DATA_DIR": str(data_dir),
    }
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


NewDatabase = Callable[[], Awaitable[str]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def test_the_console_script_is_installed() -> None:
    assert SCRIPT.exists()


async def test_create_user_says_what_it_created(new_database: NewDatabase, data_dir: Path) -> None:
    """Issue 10: it printed a bare id; now a sentence, or JSON for scripts with --json."""
    dsn = await new_database()
    run = await bidserver(
        dsn, data_dir, "create-user", "--email", "pat@example.test", "--password",
        "a long enough password", "--role", "seller",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert re.fullmatch(r"created seller pat@example\.test with id \d+\n", run.out), run.out
    assert run.err == ""


async def test_create_user_creates_and_prints_the_id(
    new_database: NewDatabase, data_dir: Path
) -> None:
    dsn = await new_database()  # empty: the command migrates it first
    run = await bidserver(
        dsn,
        data_dir,
        "create-user",
        "--email",
        "Ops@Example.test",
        "--password",
        "a long enough password",
        "--role",
        "admin",
        "--display-name",
        "Ops Team",
        "--json",
    )
    assert run.code == 0, run.err
    printed = json.loads(run.out)
    assert printed == {"id": printed["id"], "email": "Ops@Example.test", "role": "admin"}
    user_id = printed["id"]
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
    finally:
        await conn.close()
    assert row is not None
    assert (row["email"], row["role"], row["display_name"]) == (
        "Ops@Example.test",
        "admin",
        "Ops Team",
    )
    assert row["password_hash"].startswith("$argon2id$")
    assert PasswordHasher().verify(row["password_hash"], "a long enough password")


async def test_create_user_errors_are_one_line_and_exit_1(
    new_database: NewDatabase, data_dir: Path
) -> None:
    dsn = await new_database()
    base = ("create-user", "--role", "seller")
    first = await bidserver(
        dsn, data_dir, *base, "--email", "dup@example.test", "--password", "0123456789"
    )
    assert first.code == 0, first.err
    attempts = {
        "email_taken": ("--email", "DUP@example.test", "--password", "0123456789"),
        "at least 10 characters": ("--email", "short@example.test", "--password", "012345678"),
        "email must": ("--email", "not-an-email", "--password", "0123456789"),
    }
    for expected, args in attempts.items():
        run = await bidserver(dsn, data_dir, *base, *args)
        assert run.code == 1, (expected, run)
        assert run.out == ""
        lines = run.err.strip().splitlines()
        assert len(lines) == 1, run.err
        assert lines[0].startswith("bidserver: create-user:")
        assert expected in lines[0]
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM users") == 1
    finally:
        await conn.close()


async def test_create_user_refuses_an_unknown_role(
    new_database: NewDatabase, data_dir: Path
) -> None:
    dsn = await new_database()
    run = await bidserver(
        dsn, data_dir, "create-user", "--email", "a@b.test", "--password", "0123456789",
        "--role", "root",
    )  # fmt: skip
    assert run.code == 2
    assert "--role" in run.err


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM users) AS users,"
            " (SELECT count(*) FROM vehicles) AS vehicles,"
            " (SELECT count(*) FROM auctions WHERE status = 'open') AS open,"
            " (SELECT count(*) FROM auctions WHERE status = 'scheduled') AS scheduled,"
            " (SELECT count(*) FROM auctions) AS auctions"
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


async def test_seed_demo_loads_a_catalogue_once(new_database: NewDatabase, data_dir: Path) -> None:
    dsn = await new_database()
    first = await bidserver(dsn, data_dir, "seed-demo")
    assert first.code == 0, first.err
    for user in demo.DEMO_USERS:
        assert user.email in first.out
        assert user.password in first.out
    after_first = await _counts(dsn)
    assert after_first["users"] == len(demo.DEMO_USERS)
    assert after_first["vehicles"] >= 200
    assert after_first["open"] >= 5
    assert after_first["scheduled"] >= 1
    assert f"{after_first['vehicles']} vehicles" in first.out
    assert f"{after_first['open']} open" in first.out
    assert "sales history: 6,000 past sales for the valuations, created" in first.out

    second = await bidserver(dsn, data_dir, "seed-demo")
    assert second.code == 0, second.err
    assert "already present" in second.out
    assert "(0 new)" in second.out
    assert "sales history: 6,000 past sales for the valuations, already present" in second.out
    assert await _counts(dsn) == after_first

    conn = await asyncpg.connect(dsn)
    try:
        await _check_seeded(conn)
    finally:
        await conn.close()


async def _check_seeded(conn: asyncpg.Connection) -> None:
    hasher = PasswordHasher()
    for user in demo.DEMO_USERS:
        row = await conn.fetchrow(
            "SELECT role, password_hash FROM users WHERE email = $1", user.email
        )
        assert row is not None
        assert row["role"] == user.role
        assert hasher.verify(row["password_hash"], user.password)
    vehicles = await conn.fetch("SELECT * FROM vehicles")
    assert all(is_valid_vin(v["vin"]) for v in vehicles)
    assert len({v["vin"] for v in vehicles}) == len(vehicles)
    assert all(v["make"] and v["model"] and v["color"] and v["photos"] for v in vehicles)
    seller = await conn.fetchval("SELECT id FROM users WHERE email = $1", demo.DEMO_SELLER.email)
    assert {v["seller_id"] for v in vehicles} == {seller}
    auctions = await conn.fetch(
        "SELECT a.*, v.seller_id AS owner, a.starts_at <= now() AS started,"
        " a.ends_at > now() AS running FROM auctions a JOIN vehicles v ON v.id = a.vehicle_id"
    )
    for a in auctions:
        assert a["seller_id"] == a["owner"] == seller
        assert a["running"]
        assert a["started"] == (a["status"] == "open")
        assert a["reserve_price"] is None or a["reserve_price"] >= a["starting_price"]
        floor = a["reserve_price"] or a["starting_price"]
        assert a["buy_now_price"] is None or a["buy_now_price"] >= floor
    soonest = await conn.fetchval("SELECT min(ends_at) - now() FROM auctions WHERE status = 'open'")
    assert soonest.total_seconds() <= 11 * 60


async def test_seed_demo_refuses_a_demo_address_taken_with_another_role(
    new_database: NewDatabase, data_dir: Path
) -> None:
    dsn = await new_database()
    made = await bidserver(
        dsn, data_dir, "create-user", "--email", demo.DEMO_SELLER.email,
        "--password", "someone else's password", "--role", "bidder",
    )  # fmt: skip
    assert made.code == 0, made.err
    run = await bidserver(dsn, data_dir, "seed-demo")
    assert run.code == 1
    assert "seller@demo.bidserver" in run.err
    assert (await _counts(dsn))["vehicles"] == 0


@pytest.mark.parametrize(
    ("flags", "setting"),
    [
        (["--jwt-secret", "too-short"], "BIDSERVER_JWT_SECRET"),
        (["--database-url", "mysql://db/bids"], "BIDSERVER_DATABASE_URL"),
        (["--ws-port", "http"], "BIDSERVER_WS_PORT"),
        (["--BIDSERVER_ACK_MODE", "sometimes"], "BIDSERVER_ACK_MODE"),
        (["--http-rate-limit", "2000"], "BIDSERVER_HTTP_RATE_LIMIT"),
    ],
)
async def test_serve_with_an_unusable_setting_exits_with_one_line_naming_it(
    pg_dsn: str, data_dir: Path, flags: list[str], setting: str
) -> None:
    run = await bidserver(pg_dsn, data_dir, "serve", *flags)
    assert run.code != 0
    assert run.err.strip().splitlines() == [run.err.strip()]
    assert run.err.startswith(f"bidserver: {setting}:"), run.err


async def test_serve_with_a_missing_database_names_the_url(pg_dsn: str, data_dir: Path) -> None:
    missing = with_database(pg_dsn, "no_such_database_here")  # TCP or socket DSN alike
    run = await bidserver(missing, data_dir, "serve")
    assert run.code != 0
    assert run.err.startswith("bidserver: BIDSERVER_DATABASE_URL:"), run.err
