"""How fast is `GET /vehicles` on a realistic catalogue? A script, not a test.

Loads generated vehicles (100,000 by default, with COPY) into the database given by
`--dsn`, then times the very statements the endpoint runs (`storage.catalog.search_vehicles`:
the page query and, when the page is not the last, the count) for several filter mixes,
and prints p50/p99 per mix and the EXPLAIN (ANALYZE, BUFFERS) of one query of each mix.

    python -m bench.vehicles_query --dsn postgresql://postgres@127.0.0.1:5432/vehicles_bench \\
        --create --drop

`--create` creates the database if it does not exist (and applies the migrations either way);
`--drop` drops it at the end. Loading is skipped when the catalogue already holds the rows.
The target is a filtered page under 10 ms at p99.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bidserver.vin import with_check_digit
from storage import catalog, catalog_search
from storage.catalog import VehicleQuery
from storage.migrate import migrate
from storage.pool import create_pool

MAKES: dict[str, list[str]] = {
    "Toyota": ["Corolla", "Camry", "RAV4", "Prius", "Tacoma", "Highlander"],
    "Honda": ["Civic", "Accord", "CR-V", "Pilot", "Fit"],
    "Ford": ["F-150", "Focus", "Mustang", "Explorer", "Escape", "Fiesta"],
    "Chevrolet": ["Silverado", "Malibu", "Equinox", "Camaro", "Tahoe"],
    "BMW": ["3 Series", "5 Series", "X3", "X5", "M3"],
    "Mercedes-Benz": ["C-Class", "E-Class", "GLC", "S-Class"],
    "Volkswagen": ["Golf", "Passat", "Tiguan", "Jetta", "Polo"],
    "Audi": ["A3", "A4", "A6", "Q5", "Q7"],
    "Nissan": ["Altima", "Sentra", "Rogue", "Leaf", "370Z"],
    "Hyundai": ["Elantra", "Sonata", "Tucson", "Santa Fe"],
    "Kia": ["Rio", "Optima", "Sportage", "Sorento"],
    "Subaru": ["Impreza", "Outback", "Forester", "WRX"],
    "Mazda": ["Mazda3", "Mazda6", "CX-5", "MX-5"],
    "Tesla": ["Model 3", "Model S", "Model Y", "Model X"],
    "Volvo": ["XC60", "XC90", "V60", "S60"],
    "Porsche": ["911", "Cayenne", "Macan", "Boxster"],
    "Jeep": ["Wrangler", "Cherokee", "Compass"],
    "Dodge": ["Charger", "Challenger", "Durango"],
    "Lexus": ["RX", "ES", "IS", "NX"],
    "Fiat": ["500", "Panda", "Punto"],
}
# Popular makes are far more common, as on any marketplace.
MAKE_WEIGHTS = [18, 15, 14, 10, 6, 5, 7, 5, 6, 5, 4, 3, 3, 2, 2, 1, 3, 2, 2, 1]
_DESCRIPTION_WORDS = (
    "clean title one owner full service history new tyres leather seats sunroof navigation "
    "heated seats backup camera low mileage garage kept manual automatic hybrid diesel "
    "convertible turbo all wheel drive towing package winter tyres panoramic roof cruise "
    "control bluetooth keyless entry alloy wheels minor scratches recent brakes timing belt "
    "replaced non smoker warranty remaining"
)
WORDS = sorted(set(_DESCRIPTION_WORDS.split()))
# Trim and option words, each in about 1.5% of descriptions: what a buyer types to narrow
# a search down. The common words above (each in about 30%) are the stress case.
RARE_WORDS = [
    a + b
    for a in ("pro", "max", "eco", "lux", "trail", "city", "sport", "tour", "aero", "volt")
    for b in ("line", "pack", "edge", "plus", "trim", "tech", "drive", "view", "grip", "flex")
]
COLORS = ["black", "white", "silver", "grey", "blue", "red", "green", "beige", "brown"]
SELLERS = 200
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _vin(rng: random.Random) -> str:
    return with_check_digit("".join(rng.choice(_VIN_CHARS) for _ in range(17)))


def generate(rows: int, seller_ids: Sequence[int], seed: int) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    makes = list(MAKES)
    now = datetime.now(UTC)
    out: list[tuple[object, ...]] = []
    for _ in range(rows):
        make = rng.choices(makes, MAKE_WEIGHTS)[0]
        year = min(2025, max(1960, int(rng.gauss(2014, 6))))
        out.append(
            (
                rng.choice(seller_ids),
                _vin(rng),
                make,
                rng.choice(MAKES[make]),
                year,
                max(0, int(rng.gauss((2026 - year) * 12_000, 15_000))),
                rng.choice(COLORS),
                " ".join(
                    rng.choices(WORDS, k=rng.randint(6, 30))
                    + rng.choices(RARE_WORDS, k=rng.randint(0, 3))
                ),
                [f"https://img.example.com/{rng.getrandbits(40):x}.jpg"] * rng.randint(0, 2),
                now - timedelta(seconds=rng.uniform(0, 2 * 365 * 24 * 3600)),
            )
        )
    return out


async def load(pool: asyncpg.Pool, rows: int, seed: int) -> None:
    async with pool.acquire() as conn:
        have = await conn.fetchval("SELECT count(*) FROM vehicles")
        if have >= rows:
            print(f"catalogue holds {have} vehicles: not loading")
            await conn.execute("VACUUM (ANALYZE) vehicles", timeout=600)  # new indexes
            return
        started = time.perf_counter()
        sellers = await conn.fetch(
            "INSERT INTO users (email, password_hash, display_name, role)"
            " SELECT 'bench-seller-' || g || '-' || $2 || '@example.test', 'x', 'Seller ' || g,"
            " 'seller' FROM generate_series(1, $1) AS g RETURNING id",
            SELLERS,
            str(seed),
        )
        records = generate(rows - have, [r["id"] for r in sellers], seed)
        await conn.copy_records_to_table(
            "vehicles",
            records=records,
            columns=[
                "seller_id", "vin", "make", "model", "year", "mileage", "color",
                "description", "photos", "created_at",
            ],
            timeout=600,  # the pool's command timeout is for requests, not a bulk load
        )  # fmt: skip
        await conn.execute("VACUUM (ANALYZE) vehicles", timeout=600)
        print(f"loaded {len(records)} vehicles with COPY in {time.perf_counter() - started:.1f} s")


@dataclass(frozen=True)
class Mix:
    name: str
    make: Callable[[random.Random], VehicleQuery]


def _make(rng: random.Random) -> str:
    name = rng.choices(list(MAKES), MAKE_WEIGHTS)[0]
    return rng.choice([name, name.lower(), name.upper()])


def _years(rng: random.Random) -> tuple[int, int]:
    low = rng.randint(1995, 2022)
    return low, low + rng.randint(0, 4)


def _sort(rng: random.Random) -> str:
    return rng.choice(list(catalog.SORTS))


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.sample(WORDS, n))


MIXES = [
    Mix("no filter, newest", lambda r: VehicleQuery()),
    Mix(
        "no filter, any sort, page 1-5", lambda r: VehicleQuery(page=r.randint(1, 5), sort=_sort(r))
    ),
    Mix("make, newest", lambda r: VehicleQuery(make=_make(r))),
    Mix(
        "make+model, any sort",
        lambda r: VehicleQuery(
            make=(m := rng_make(r)), model=r.choice(MAKES[m]).upper(), sort=_sort(r)
        ),
    ),
    Mix(
        "year range, any sort",
        lambda r: VehicleQuery(year_min=(y := _years(r))[0], year_max=y[1], sort=_sort(r)),
    ),
    Mix(
        "make+year range, -mileage",
        lambda r: VehicleQuery(
            make=_make(r), year_min=(y := _years(r))[0], year_max=y[1], sort="-mileage"
        ),
    ),
    Mix("q rare word, any sort", lambda r: VehicleQuery(q=r.choice(RARE_WORDS), sort=_sort(r))),
    Mix(
        "make+q rare word, newest",
        lambda r: VehicleQuery(make=_make(r), q=r.choice(RARE_WORDS)),
    ),
    Mix("q common word (~30%), newest", lambda r: VehicleQuery(q=_words(r, 1))),
    Mix("q 2 common words, any sort", lambda r: VehicleQuery(q=_words(r, 2), sort=_sort(r))),
    Mix("make+q common word, newest", lambda r: VehicleQuery(make=_make(r), q=_words(r, 1))),
    Mix("make, page 10-50", lambda r: VehicleQuery(make=_make(r), page=r.randint(10, 50))),
]


def rng_make(rng: random.Random) -> str:
    return rng.choices(list(MAKES), MAKE_WEIGHTS)[0]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run_mixes(pool: asyncpg.Pool, per_mix: int, seed: int) -> list[tuple[Mix, VehicleQuery]]:
    rng = random.Random(seed)
    for mix in MIXES:  # warm the cache and the prepared statements
        for _ in range(10):
            await catalog_search.search_vehicles(pool, mix.make(rng))
    print(f"\n{'mix':34} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'rows/page':>9}")
    examples = []
    everything: list[float] = []
    for mix in MIXES:
        times: list[float] = []
        sizes: list[int] = []
        for _ in range(per_mix):
            query = mix.make(rng)
            started = time.perf_counter()
            found = await catalog_search.search_vehicles(pool, query)
            times.append((time.perf_counter() - started) * 1000)
            sizes.append(len(found.vehicles))
        everything += times
        examples.append((mix, mix.make(rng)))
        print(
            f"{mix.name:34} {len(times):>5} {statistics.median(times):>8.2f}"
            f" {percentile(times, 99):>8.2f} {max(times):>8.2f} {statistics.mean(sizes):>9.1f}"
        )
    print(
        f"{'all':34} {len(everything):>5} {statistics.median(everything):>8.2f}"
        f" {percentile(everything, 99):>8.2f} {max(everything):>8.2f}"
    )
    return examples


async def explain(pool: asyncpg.Pool, examples: Sequence[tuple[Mix, VehicleQuery]]) -> None:
    """The plans of the statements the endpoint runs for one query of each mix."""
    for mix, query in examples:
        async with pool.acquire() as conn:
            terms = None if query.q is None else await catalog_search.lexemes(conn, query.q)
            sql = catalog_search.search_sql(query, terms)
            statements: list[tuple[str, catalog_search.Statement]] = []
            estimate = None if sql.walk else await catalog_search.estimate_matches(conn, sql)
            if estimate is not None and estimate <= sql.sort_max:
                statements.append(("sorted matches (counts them too)", sql.sorted))
            else:
                statements.append(("walk the sort order and count", sql.page))
            print(f"\n=== {mix.name}: {query}")
            if estimate is not None:
                print(f"    (planner estimates {estimate:.0f} matches; sort up to {sql.sort_max})")
            for label, statement in statements:
                plan = await conn.fetch(
                    f"EXPLAIN (ANALYZE, BUFFERS) {statement.sql}", *statement.args
                )
                print(f"--- {label}")
                for row in plan:
                    print("   ", row[0])


def _server_dsn(dsn: str) -> tuple[str, str]:
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name or any(c not in string.ascii_letters + string.digits + "_" for c in name):
        raise SystemExit("--dsn must name a database of letters, digits and _")
    return urlunsplit(parts._replace(path="/postgres")), name


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    server, name = _server_dsn(args.dsn)
    if args.create:
        conn = await asyncpg.connect(server)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        finally:
            await conn.close()
        if not exists:
            await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        await migrate(args.dsn)
        pool = await create_pool(args.dsn, min_size=1, max_size=2)
        try:
            await load(pool, args.rows, args.seed)
            per_mix = max(1, args.queries // len(MIXES))
            examples = await run_mixes(pool, per_mix, args.seed)
            if not args.no_explain:
                await explain(pool, examples)
        finally:
            await pool.close()
    finally:
        if args.drop:
            await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True, help="postgresql://… of a throwaway database")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000, help="spread over the mixes")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--create", action="store_true", help="create the database if missing")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--no-explain", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
