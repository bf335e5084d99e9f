"""Searching the vehicle catalogue: the SQL of `GET /vehicles`.

The SQL is built from a fixed vocabulary (column names and sort orders are chosen from
constants, never from input; every value is a bind parameter), so the benchmark in
`bench/vehicles_query.py` can run and EXPLAIN exactly the statements the endpoint runs.

How a page is found. Walking the sort order's index and skipping non-matching rows is fast
only while matches are dense and spread evenly along that order; it turns into a scan of
most of the table when the filter is selective or correlates with the sort (recent years
sorted by highest mileage). Sorting all matches costs O(matches) instead, and stays cheap
while their sort keys come from an index alone: make/model/year matches from covering
indexes (migration 0002), one-word free-text matches from `vehicle_terms` (migration 0008:
one row per word and vehicle, with the year and sort keys in its index). A free-text search
with a make, model or seller filter, or of several words, keeps to the GIN index and the
table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

from storage.catalog import COLUMNS, SORTS, Found, VehicleQuery, vehicle_of
from storage.errors import translate
from storage.pool import AnyConnection

SORT_MATCHES_MAX: Final = 50_000
# Free text through the GIN index sorts matches read from the table: a lower bar. Through
# `vehicle_terms` the count reads every match up to EXACT_TOTAL_MAX anyway, so sorting them
# there costs little more than counting; past it, walking the sort order is cheaper.
SORT_TEXT_MATCHES_MAX: Final = 5_000
SORT_TERMS_MATCHES_MAX: Final = 10_000
# CONTRACT §4: `total` is exact up to this many matches; above it, counting every match of a
# broad search costs more than the page itself, so the count stops here and the planner's
# estimate (never below the number counted) answers instead, marked `totalExact: false`.
EXACT_TOTAL_MAX: Final = 10_000
# Measured (bench/RESULTS.md): one word's index range pays; two words merged on vehicle id
# (two ranges of ~28,000 entries) and a make filtered inside one range did not beat the GIN
# index, so those keep to it.
TERMS_MAX: Final = 1
_SORT_KEYS: Final = "id, year, mileage, created_at"
_TERM_KEYS: Final = "t1.vehicle_id AS id, t1.year, t1.mileage, t1.created_at"


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    args: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class SearchSql:
    """The statements of one query, every value bound.

    `page` walks the sort order's index for the page's ids (index-only where the filter
    allows), reads those rows whole, and counts the matches up to EXACT_TOTAL_MAX + 1, all
    in one statement (one snapshot): every row carries `total`; a page past the end is one
    row of NULLs with it. `sorted` reads the sort keys of at most `sort_max` + 1 matches
    through the filter's indexes (the inner LIMIT also fences the filter from the sort),
    sorts them, and answers the page's rows whole, each with the number of matches read.
    """

    page: Statement
    sorted: Statement
    estimate: Statement
    limit: int
    offset: int
    walk: bool  # an index gives this filter in this order: always walk
    sort_max: int  # else sort the matches when there are at most this many


class _Binder:
    def __init__(self) -> None:
        self.args: list[object] = []

    def __call__(self, value: object) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def _vehicle_where(query: VehicleQuery, bind: _Binder) -> str:
    where: list[str] = []
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
    return " AND ".join(where) or "TRUE"


def uses_terms(query: VehicleQuery, terms: Sequence[str] | None) -> bool:
    """Whether `vehicle_terms` holds everything this free-text search filters on."""
    return (
        terms is not None
        and 1 <= len(terms) <= TERMS_MAX
        and query.make is None
        and query.model is None
        and query.seller_id is None
    )


def _terms_from(query: VehicleQuery, terms: Sequence[str], bind: _Binder) -> str:
    """`vehicle_terms t1 JOIN … WHERE …`: one index range per word, joined on vehicle id."""
    where = [f"t1.word = {bind(terms[0])}"]
    joins = "".join(
        f" JOIN vehicle_terms AS t{i} ON t{i}.vehicle_id = t1.vehicle_id"
        f" AND t{i}.word = {bind(word)}"
        for i, word in enumerate(terms[1:], start=2)
    )
    if query.make is not None:
        where.append(f"t1.make = lower({bind(query.make)})")
    if query.year_min is not None:
        where.append(f"t1.year >= {bind(query.year_min)}")
    if query.year_max is not None:
        where.append(f"t1.year <= {bind(query.year_max)}")
    return f"vehicle_terms AS t1{joins} WHERE {' AND '.join(where)}"


def _matches(query: VehicleQuery, terms: Sequence[str] | None, bind: _Binder, keys: str) -> str:
    """`SELECT keys FROM …` of every match, through the cheapest index for it."""
    if uses_terms(query, terms):
        assert terms is not None
        return f"SELECT {_TERM_KEYS if keys else '1'} FROM {_terms_from(query, terms, bind)}"
    return f"SELECT {keys or '1'} FROM vehicles WHERE {_vehicle_where(query, bind)}"


def _walks(query: VehicleQuery) -> bool:
    """Whether an index gives this filter in this order (or there is no filter)."""
    filters = {
        "make": query.make,
        "model": query.model,
        "year_min": query.year_min,
        "year_max": query.year_max,
        "q": query.q,
        "seller_id": query.seller_id,
    }
    used = {name for name, value in filters.items() if value is not None}
    return (
        not used
        or (used == {"make"} and query.sort == "newest")
        or (used <= {"year_min", "year_max"} and query.sort in ("year", "-year"))
    )


def search_sql(query: VehicleQuery, terms: Sequence[str] | None = None) -> SearchSql:
    """Build the statements; `terms` are the lexemes of `query.q` (see `lexemes`)."""
    order = SORTS[query.sort]
    offset = (query.page - 1) * query.limit
    bind = _Binder()
    count = _matches(query, terms, bind, "")
    page = (
        f"WITH n AS (SELECT count(*) AS total FROM ({count} LIMIT {EXACT_TOTAL_MAX + 1}) AS c)"
        f" SELECT n.total, p.* FROM n LEFT JOIN LATERAL (SELECT {COLUMNS} FROM vehicles JOIN"
        f" (SELECT id FROM vehicles WHERE {_vehicle_where(query, bind)}"
        f" ORDER BY {order} LIMIT {bind(query.limit)} OFFSET {bind(offset)}) AS k USING (id)"
        f") AS p ON TRUE ORDER BY {order}"
    )
    page_args = tuple(bind.args)
    if uses_terms(query, terms):
        sort_max = SORT_TERMS_MATCHES_MAX
    elif query.q is not None:
        sort_max = SORT_TEXT_MATCHES_MAX
    else:
        sort_max = SORT_MATCHES_MAX
    bind = _Binder()
    keys = _matches(query, terms, bind, _SORT_KEYS)
    sorted_sql = (
        f"SELECT {COLUMNS}, m.total FROM vehicles JOIN ("
        f"SELECT id, count(*) OVER () AS total FROM ({keys} LIMIT {bind(sort_max + 1)}) AS c"
        f" ORDER BY {order} LIMIT {bind(query.limit)} OFFSET {bind(offset)}"
        f") AS m USING (id) ORDER BY {order}"
    )
    sorted_args = tuple(bind.args)
    bind = _Binder()
    estimate = f"SELECT 1 FROM vehicles WHERE {_vehicle_where(query, bind)}"
    return SearchSql(
        page=Statement(page, page_args),
        sorted=Statement(sorted_sql, sorted_args),
        estimate=Statement(estimate, tuple(bind.args)),
        limit=query.limit,
        offset=offset,
        walk=_walks(query),
        sort_max=sort_max,
    )


async def search_vehicles(pool: asyncpg.Pool, query: VehicleQuery) -> Found:
    """One page of vehicles and the number of all that match.

    Unless an index gives the filter in the requested order (or there is no filter), the
    matches are sorted (`sorted`, one statement that also counts them) as long as there
    are at most `sort_max`; more are dense enough to find by walking the sort order
    (`page`, which counts them in the same statement, exactly up to `EXACT_TOTAL_MAX`).
    The planner's estimate of the matches picks the first try; a wrong estimate costs
    time, never a wrong answer: both statements give the same page and the same count.
    """
    with translate():
        async with pool.acquire() as conn:
            terms = None if query.q is None else await lexemes(conn, query.q)
            if terms == ():
                return Found([], 0)  # nothing to search for matches nothing, as `@@` does
            sql = search_sql(query, terms)
            if sql.walk:
                return await _walk(conn, sql, None)
            estimate = await estimate_matches(conn, sql)
            if estimate <= sql.sort_max:
                rows = await conn.fetch(sql.sorted.sql, *sql.sorted.args)
                if rows and rows[0]["total"] <= sql.sort_max:
                    return Found([vehicle_of(r) for r in rows], int(rows[0]["total"]))
                if not rows and sql.offset == 0:
                    return Found([], 0)
            return await _walk(conn, sql, estimate)


async def _walk(conn: AnyConnection, sql: SearchSql, estimate: float | None) -> Found:
    rows = await conn.fetch(sql.page.sql, *sql.page.args)
    counted = int(rows[0]["total"])
    vehicles = [vehicle_of(r) for r in rows if r["id"] is not None]
    if (vehicles and len(vehicles) < sql.limit) or (not vehicles and sql.offset == 0):
        return Found(vehicles, sql.offset + len(vehicles))  # the last page counts itself
    if counted <= EXACT_TOTAL_MAX:
        return Found(vehicles, counted)
    if estimate is None:
        estimate = await estimate_matches(conn, sql)
    return Found(vehicles, max(int(estimate), counted), exact=False)


async def estimate_matches(conn: AnyConnection, sql: SearchSql) -> float:
    """The planner's guess of how many rows match (planning only, nothing is read)."""
    statement = sql.estimate
    plan: Any = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {statement.sql}", *statement.args)
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


_LEXEMES: dict[str, tuple[str, ...]] = {}
_LEXEMES_KEPT: Final = 4096


async def lexemes(conn: AnyConnection, text: str) -> tuple[str, ...]:
    """The distinct lexemes of `plainto_tsquery('simple', text)`, as PostgreSQL parses it.

    A pure function of the text (the `simple` configuration has no dictionary to change),
    so answers are remembered, a bounded number of them.
    """
    known = _LEXEMES.get(text)
    if known is not None:
        return known
    found: list[str] = await conn.fetchval(
        "SELECT tsvector_to_array(to_tsvector('simple', $1))", text
    )
    if len(_LEXEMES) >= _LEXEMES_KEPT:
        _LEXEMES.clear()
    _LEXEMES[text] = tuple(found)
    return _LEXEMES[text]
