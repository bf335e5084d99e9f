"""The vehicle catalogue: the SQL of `GET/POST/PATCH/DELETE /vehicles`.

Searching builds its SQL from a fixed vocabulary (column names and sort orders are chosen
from constants, never from input; every value is a bind parameter), so the benchmark in
`bench/vehicles_query.py` can run and EXPLAIN exactly the statements the endpoint runs.

Writes that depend on who owns a vehicle lock its row first (`FOR UPDATE`), so an
ownership check, a delete and an auction created at the same time cannot interleave.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from bidserver.errors import Conflict, Forbidden, NotFound
from storage.auctions import to_dt, to_ms
from storage.errors import translate
from storage.pool import AnyConnection

SORTS: Final[Mapping[str, str]] = {
    "newest": "created_at DESC, id DESC",
    "year": "year, id",
    "-year": "year DESC, id DESC",
    "mileage": "mileage, id",
    "-mileage": "mileage DESC, id DESC",
}
DEFAULT_SORT: Final = "newest"

# What a caller may set; `seller_id`, `id` and the timestamps are the server's.
WRITABLE: Final = ("vin", "make", "model", "year", "mileage", "color", "description", "photos")

_COLUMNS: Final = (
    "id, seller_id, vin, make, model, year, mileage, color, description, photos, created_at"
)


class VehicleInAuction(Conflict):
    """The vehicle has a scheduled or open auction; it cannot be deleted (or auctioned again)."""

    code = "vehicle_in_auction"


class VehicleHasAuctions(Conflict):
    """Past auctions (and their bids) refer to the vehicle, so its record stays."""

    code = "vehicle_has_auctions"


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: int
    seller_id: int
    vin: str
    make: str
    model: str
    year: int
    mileage: int
    color: str
    description: str
    photos: tuple[str, ...]
    created_at: int  # epoch ms


@dataclass(frozen=True, slots=True)
class VehicleQuery:
    """One `GET /vehicles` request, already validated."""

    page: int = 1
    limit: int = 20
    make: str | None = None
    model: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    q: str | None = None
    sort: str = DEFAULT_SORT
    seller_id: int | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One page of a search, and how many vehicles match in all."""

    vehicles: list[Vehicle]
    total: int
    exact: bool = True  # False: more than EXACT_TOTAL_MAX match and `total` is an estimate


# How a page is found. Walking the sort order's index and skipping non-matching rows is
# fast only while matches are dense and spread evenly along that order; it turns into a scan
# of most of the table when the filter is selective or correlates with the sort (recent years
# sorted by highest mileage). Sorting all matches costs O(matches) instead, and stays cheap up
# to these counts: make/model/year matches are read from covering indexes (index-only, no
# table access, see migration 0002); free-text matches need the table, so the bar is lower.
SORT_MATCHES_MAX: Final = 50_000
SORT_TEXT_MATCHES_MAX: Final = 5_000
# CONTRACT §4: `total` is exact up to this many matches; above it, counting every match of a
# broad search costs more than the page itself, so the count stops here and the planner's
# estimate (never below the number counted) answers instead, marked `totalExact: false`.
EXACT_TOTAL_MAX: Final = 10_000
_SORT_KEYS: Final = "id, year, mileage, created_at"


@dataclass(frozen=True, slots=True)
class SearchSql:
    """The statements of one query, with their shared arguments.

    `page_sql` ($n+1 limit, $n+2 offset) lets the planner walk the sort order's index.
    `sorted_sql` ($n+1 cap, $n+2 limit, $n+3 offset) reads the sort keys of at most `cap`
    matches through the filter's indexes (the inner LIMIT also fences the filter from the
    sort), sorts them, and answers the page's rows whole, each with the number of matches
    read (`total`): all of them unless that number reached the cap.
    """

    page_sql: str
    sorted_sql: str
    count_sql: str
    estimate_sql: str
    args: tuple[object, ...]
    limit: int
    offset: int
    walk: bool  # an index gives this filter in this order: always walk
    sort_max: int  # else sort the matches when there are at most this many


def search_sql(query: VehicleQuery) -> SearchSql:
    """Build the statements; only constants reach the SQL text, values are parameters."""
    where: list[str] = []
    args: list[object] = []

    def bind(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.make is not None:
        where.append(f"lower(make) = lower({bind(query.make)})")
    if query.model is not None:
        where.append(f"lower(model) = lower({bind(query.model)})")
    if query.year_min is not None:
        where.append(f"year >= {bind(query.year_min)}")
    if query.year_max is not None:
        where.append(f"year <= {bind(query.year_max)}")
    if query.q is not None:
        where.append(f"search @@ plainto_tsquery('simple', {bind(query.q)})")
    if query.seller_id is not None:
        where.append(f"seller_id = {bind(query.seller_id)}")
    clause = " AND ".join(where) or "TRUE"
    order = SORTS[query.sort]
    n = len(args)
    only_make = query.make is not None and len(where) == 1
    only_years = all(w.startswith("year") for w in where)
    walk = (
        not where
        or (only_make and query.sort == "newest")
        or (only_years and query.sort in ("year", "-year"))
    )
    return SearchSql(
        page_sql=(
            f"SELECT {_COLUMNS} FROM vehicles WHERE {clause}"
            f" ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}"
        ),
        sorted_sql=(
            f"SELECT {_COLUMNS}, m.total FROM vehicles JOIN ("
            f"SELECT id, count(*) OVER () AS total FROM"
            f" (SELECT {_SORT_KEYS} FROM vehicles WHERE {clause} LIMIT ${n + 1}) AS c"
            f" ORDER BY {order} LIMIT ${n + 2} OFFSET ${n + 3}"
            f") AS m USING (id) ORDER BY {order}"
        ),
        count_sql=(
            f"SELECT count(*) FROM (SELECT 1 FROM vehicles WHERE {clause}"
            f" LIMIT {EXACT_TOTAL_MAX + 1}) AS c"
        ),
        estimate_sql=f"SELECT 1 FROM vehicles WHERE {clause}",
        args=tuple(args),
        limit=query.limit,
        offset=(query.page - 1) * query.limit,
        walk=walk,
        sort_max=SORT_MATCHES_MAX if query.q is None else SORT_TEXT_MATCHES_MAX,
    )


async def search_vehicles(pool: asyncpg.Pool, query: VehicleQuery) -> Found:
    """One page of vehicles and the number of all that match.

    Unless an index gives the filter in the requested order (or there is no filter), the
    matches are sorted (`sorted_sql`, one statement that also counts them) as long as there
    are at most `sort_max`; more are dense enough to find by walking the sort order
    (`page_sql`) and are counted apart, exactly up to `EXACT_TOTAL_MAX`. The planner's
    estimate of the matches picks the first try; a wrong estimate costs time, never a
    wrong answer.
    """
    sql = search_sql(query)
    with translate():
        async with pool.acquire() as conn:
            if sql.walk:
                return await _walk(conn, sql)
            cap = sql.sort_max
            if await estimate_matches(conn, sql) <= cap:
                rows = await conn.fetch(sql.sorted_sql, *sql.args, cap + 1, sql.limit, sql.offset)
                if rows and rows[0]["total"] <= cap:
                    return Found([_vehicle(r) for r in rows], int(rows[0]["total"]))
                if not rows and sql.offset == 0:
                    return Found([], 0)
            counted = await _count(conn, sql)
            if counted.exact and sql.offset >= counted.total:
                return counted  # a page past the end
            if counted.exact and counted.total <= cap:  # fewer than estimated: sort after all
                rows = await conn.fetch(sql.sorted_sql, *sql.args, cap + 1, sql.limit, sql.offset)
                return Found([_vehicle(r) for r in rows], counted.total)
            return await _walk(conn, sql, counted)


async def _walk(conn: AnyConnection, sql: SearchSql, counted: Found | None = None) -> Found:
    rows = await conn.fetch(sql.page_sql, *sql.args, sql.limit, sql.offset)
    vehicles = [_vehicle(r) for r in rows]
    if counted is not None:
        return Found(vehicles, counted.total, counted.exact)
    if (rows and len(rows) < sql.limit) or (not rows and sql.offset == 0):
        return Found(vehicles, sql.offset + len(rows))  # the last page: no count needed
    counted = await _count(conn, sql)
    return Found(vehicles, counted.total, counted.exact)


async def _count(conn: AnyConnection, sql: SearchSql) -> Found:
    """The exact number of matches up to `EXACT_TOTAL_MAX`, else the planner's estimate."""
    counted = int(await conn.fetchval(sql.count_sql, *sql.args))
    if counted <= EXACT_TOTAL_MAX:
        return Found([], counted)
    estimate = int(await estimate_matches(conn, sql))
    return Found([], max(estimate, counted), exact=False)


async def estimate_matches(conn: AnyConnection, sql: SearchSql) -> float:
    """The planner's guess of how many rows match (planning only, nothing is read)."""
    plan: Any = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql.estimate_sql}", *sql.args)
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


async def get_vehicle(pool: asyncpg.Pool, vehicle_id: int) -> Vehicle | None:
    with translate():
        row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM vehicles WHERE id = $1", vehicle_id)
    return None if row is None else _vehicle(row)


async def get_vehicles(pool: asyncpg.Pool, ids: Sequence[int]) -> dict[int, Vehicle]:
    """Several vehicles by id in one query (a page of auctions shows their vehicles)."""
    with translate():
        rows = await pool.fetch(
            f"SELECT {_COLUMNS} FROM vehicles WHERE id = ANY($1::bigint[])", list(ids)
        )
    return {row["id"]: _vehicle(row) for row in rows}


async def create_vehicle(
    pool: asyncpg.Pool, seller_id: int, fields: Mapping[str, object]
) -> Vehicle:
    names = _checked(fields)
    placeholders = ", ".join(f"${i + 2}" for i in range(len(names)))
    sql = (
        f"INSERT INTO vehicles (seller_id, {', '.join(names)}) VALUES ($1, {placeholders})"
        f" RETURNING {_COLUMNS}"
    )
    with translate():
        row = await pool.fetchrow(sql, seller_id, *(fields[n] for n in names))
    assert row is not None
    return _vehicle(row)


async def update_vehicle(
    pool: asyncpg.Pool, vehicle_id: int, owner_id: int | None, fields: Mapping[str, object]
) -> Vehicle:
    """Change the given fields; `owner_id` None means an admin (any vehicle).

    Raises `NotFound` for a missing vehicle and `Forbidden` for someone else's.
    """
    names = _checked(fields)
    assignments = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            await _lock_owned(conn, vehicle_id, owner_id)
            if names:
                sql = (
                    f"UPDATE vehicles SET {assignments}, updated_at = now() WHERE id = $1"
                    f" RETURNING {_COLUMNS}"
                )
                row = await conn.fetchrow(sql, vehicle_id, *(fields[n] for n in names))
            else:
                row = await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM vehicles WHERE id = $1", vehicle_id
                )
    assert row is not None
    return _vehicle(row)


async def delete_vehicle(
    pool: asyncpg.Pool, vehicle_id: int, owner_id: int | None, now_ms: int
) -> None:
    """Delete a vehicle no auction refers to.

    Raises `NotFound`, `Forbidden`, `VehicleInAuction` (a scheduled or open auction) or
    `VehicleHasAuctions` (only past ones: their bids keep the vehicle on record).
    """
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            await _lock_owned(conn, vehicle_id, owner_id)
            found = await conn.fetchrow(_AUCTIONS_OF_SQL, vehicle_id, to_dt(now_ms))
            assert found is not None  # an aggregate always answers one row
            live, any_auction = found["live"], found["any"]
            if live:
                raise VehicleInAuction("the vehicle has a scheduled or open auction")
            if any_auction:
                raise VehicleHasAuctions("past auctions of this vehicle keep it on record")
            await conn.execute("DELETE FROM vehicles WHERE id = $1", vehicle_id)


_AUCTIONS_OF_SQL = """
SELECT coalesce(bool_or(status IN ('scheduled', 'open') AND ends_at > $2), FALSE) AS live,
       count(*) > 0 AS any
FROM auctions WHERE vehicle_id = $1
"""


async def lock_owned_vehicle(conn: AnyConnection, vehicle_id: int, owner_id: int | None) -> int:
    """Lock the vehicle row for this transaction; returns its seller (see `_lock_owned`)."""
    return await _lock_owned(conn, vehicle_id, owner_id)


async def _lock_owned(conn: AnyConnection, vehicle_id: int, owner_id: int | None) -> int:
    seller_id: int | None = await conn.fetchval(
        "SELECT seller_id FROM vehicles WHERE id = $1 FOR UPDATE", vehicle_id
    )
    if seller_id is None:
        raise NotFound(f"vehicle {vehicle_id} does not exist")
    if owner_id is not None and seller_id != owner_id:
        raise Forbidden("only the vehicle's seller or an admin may do this")
    return seller_id


def _checked(fields: Mapping[str, object]) -> Sequence[str]:
    names = [n for n in WRITABLE if n in fields]
    unknown = set(fields) - set(WRITABLE)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    return names


def _vehicle(row: asyncpg.Record) -> Vehicle:
    created: datetime = row["created_at"]
    return Vehicle(
        id=row["id"],
        seller_id=row["seller_id"],
        vin=row["vin"],
        make=row["make"],
        model=row["model"],
        year=row["year"],
        mileage=row["mileage"],
        color=row["color"],
        description=row["description"],
        photos=tuple(row["photos"]),
        created_at=to_ms(created),
    )
