"""The demo data set of `bidserver seed-demo`: logins, a used-car catalogue, live auctions.

Pure and deterministic (a fixed random seed; only `now` comes in), so every seeded database
holds the same catalogue. Vehicles are real makes and models with plausible years, mileage,
colours and prices, and VINs that are well-formed: a real manufacturer prefix (WMI), the
model-year code at position 10, and a correct check digit at position 9.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bidserver.vin import with_check_digit

CATALOGUE_SIZE = 300
_SEED = 20261128
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 1980 = A … 2009 = 9, then again from 2010
_NEWEST_YEAR = 2025
_OLDEST_YEAR = 2006


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    password: str
    display_name: str
    role: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("bidder@demo.bidserver", "demo-bidder-password", "Demo Bidder", "bidder"),
    DemoUser("bidder2@demo.bidserver", "demo-bidder2-password", "Demo Bidder Two", "bidder"),
    DemoUser("seller@demo.bidserver", "demo-seller-password", "Demo Seller Motors", "seller"),
    DemoUser("admin@demo.bidserver", "demo-admin-password", "Demo Admin", "admin"),
)
DEMO_SELLER = DEMO_USERS[2]


@dataclass(frozen=True, slots=True)
class DemoVehicle:
    vin: str
    make: str
    model: str
    year: int
    mileage: int
    color: str
    description: str
    photos: tuple[str, ...]
    value: int  # an estimated market value, the base of its auction's prices
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DemoAuction:
    vehicle: int  # index into the catalogue
    status: str  # 'open' or 'scheduled'
    starts_at: datetime
    ends_at: datetime
    starting_price: int
    reserve_price: int | None
    buy_now_price: int | None
    anti_snipe_seconds: int
    max_extensions: int | None


@dataclass(frozen=True, slots=True)
class _Model:
    make: str
    model: str
    wmi: str
    msrp: int
    since: int
    trims: tuple[str, ...]


_MODELS: tuple[_Model, ...] = (
    _Model("Toyota", "Camry", "4T1", 27000, _OLDEST_YEAR, ("LE", "SE", "XLE", "XSE")),
    _Model("Toyota", "Corolla", "2T1", 22000, _OLDEST_YEAR, ("L", "LE", "SE", "XSE")),
    _Model("Toyota", "RAV4", "2T3", 29000, _OLDEST_YEAR, ("LE", "XLE", "Limited", "Adventure")),
    _Model("Toyota", "Tacoma", "3TM", 32000, _OLDEST_YEAR, ("SR5", "TRD Sport", "TRD Off-Road")),
    _Model("Toyota", "Highlander", "5TD", 39000, _OLDEST_YEAR, ("LE", "XLE", "Limited")),
    _Model("Toyota", "Prius", "JTD", 26000, _OLDEST_YEAR, ("L Eco", "LE", "XLE")),
    _Model("Honda", "Civic", "2HG", 24000, _OLDEST_YEAR, ("LX", "Sport", "EX", "Touring")),
    _Model("Honda", "Accord", "1HG", 28000, _OLDEST_YEAR, ("LX", "Sport", "EX-L", "Touring")),
    _Model("Honda", "CR-V", "5J6", 30000, _OLDEST_YEAR, ("LX", "EX", "EX-L", "Touring")),
    _Model("Honda", "Pilot", "5FN", 38000, _OLDEST_YEAR, ("EX", "EX-L", "Elite")),
    _Model("Honda", "Odyssey", "5FN", 37000, _OLDEST_YEAR, ("EX", "EX-L", "Touring")),
    _Model("Ford", "F-150", "1FT", 40000, _OLDEST_YEAR, ("XL", "XLT", "Lariat", "King Ranch")),
    _Model("Ford", "Mustang", "1FA", 31000, _OLDEST_YEAR, ("EcoBoost", "GT", "GT Premium")),
    _Model("Ford", "Explorer", "1FM", 37000, _OLDEST_YEAR, ("XLT", "Limited", "ST")),
    _Model("Ford", "Escape", "1FM", 28000, _OLDEST_YEAR, ("S", "SE", "Titanium")),
    _Model("Chevrolet", "Silverado 1500", "1GC", 40000, _OLDEST_YEAR, ("LT", "RST", "LTZ")),
    _Model("Chevrolet", "Malibu", "1G1", 25000, _OLDEST_YEAR, ("LS", "LT", "Premier")),
    _Model("Chevrolet", "Equinox", "2GN", 28000, _OLDEST_YEAR, ("LS", "LT", "Premier")),
    _Model("Chevrolet", "Corvette", "1G1", 68000, _OLDEST_YEAR, ("1LT", "2LT", "3LT", "Z06")),
    _Model("Chevrolet", "Tahoe", "1GN", 55000, _OLDEST_YEAR, ("LS", "LT", "Premier")),
    _Model("BMW", "3 Series", "WBA", 44000, _OLDEST_YEAR, ("330i", "330i xDrive", "M340i")),
    _Model("BMW", "5 Series", "WBA", 57000, _OLDEST_YEAR, ("530i", "540i xDrive")),
    _Model("BMW", "X5", "5UX", 63000, _OLDEST_YEAR, ("sDrive40i", "xDrive40i", "M50i")),
    _Model("Mercedes-Benz", "C-Class", "WDD", 45000, _OLDEST_YEAR, ("C 300", "C 300 4MATIC")),
    _Model("Mercedes-Benz", "E-Class", "WDD", 58000, _OLDEST_YEAR, ("E 350", "E 450 4MATIC")),
    _Model("Mercedes-Benz", "GLE", "4JG", 60000, 2016, ("GLE 350", "GLE 450 4MATIC")),
    _Model("Audi", "A4", "WAU", 41000, _OLDEST_YEAR, ("Premium", "Premium Plus", "Prestige")),
    _Model("Audi", "Q5", "WA1", 45000, 2009, ("Premium", "Premium Plus", "Prestige")),
    _Model("Tesla", "Model S", "5YJ", 85000, 2012, ("Long Range", "Plaid")),
    _Model("Tesla", "Model 3", "5YJ", 43000, 2017, ("Standard Range", "Long Range", "Performance")),
    _Model("Tesla", "Model Y", "7SA", 50000, 2020, ("Long Range", "Performance")),
    _Model("Subaru", "Outback", "4S4", 30000, _OLDEST_YEAR, ("Premium", "Limited", "Touring")),
    _Model("Subaru", "Forester", "JF2", 28000, _OLDEST_YEAR, ("Base", "Premium", "Sport")),
    _Model("Subaru", "WRX", "JF1", 32000, _OLDEST_YEAR, ("Base", "Premium", "Limited", "STI")),
    _Model("Nissan", "Altima", "1N4", 26000, _OLDEST_YEAR, ("S", "SV", "SR", "SL")),
    _Model("Nissan", "Rogue", "5N1", 29000, 2008, ("S", "SV", "SL")),
    _Model("Nissan", "Frontier", "1N6", 31000, _OLDEST_YEAR, ("S", "SV", "PRO-4X")),
    _Model("Hyundai", "Elantra", "5NP", 22000, _OLDEST_YEAR, ("SE", "SEL", "Limited")),
    _Model("Hyundai", "Tucson", "5NM", 28000, _OLDEST_YEAR, ("SE", "SEL", "Limited")),
    _Model("Hyundai", "Santa Fe", "5NM", 31000, _OLDEST_YEAR, ("SE", "SEL", "Calligraphy")),
    _Model("Kia", "Sorento", "5XY", 31000, _OLDEST_YEAR, ("LX", "EX", "SX")),
    _Model("Kia", "Telluride", "5XY", 37000, 2020, ("S", "EX", "SX")),
    _Model("Jeep", "Wrangler", "1C4", 34000, _OLDEST_YEAR, ("Sport", "Sahara", "Rubicon")),
    _Model(
        "Jeep", "Grand Cherokee", "1C4", 41000, _OLDEST_YEAR, ("Laredo", "Limited", "Trailhawk")
    ),
    _Model("Volkswagen", "Jetta", "3VW", 22000, _OLDEST_YEAR, ("S", "SE", "GLI")),
    _Model("Volkswagen", "Golf GTI", "3VW", 31000, _OLDEST_YEAR, ("S", "SE", "Autobahn")),
    _Model("Volkswagen", "Tiguan", "3VV", 29000, 2009, ("S", "SE", "SEL")),
    _Model("Mazda", "CX-5", "JM3", 29000, 2013, ("Sport", "Touring", "Grand Touring")),
    _Model("Mazda", "MX-5 Miata", "JM1", 30000, _OLDEST_YEAR, ("Sport", "Club", "Grand Touring")),
    _Model("Mazda", "Mazda3", "3MZ", 23000, _OLDEST_YEAR, ("Select", "Preferred", "Premium")),
    _Model("Porsche", "911", "WP0", 115000, _OLDEST_YEAR, ("Carrera", "Carrera S", "Targa 4S")),
    _Model("Porsche", "Cayenne", "WP1", 78000, _OLDEST_YEAR, ("Base", "S", "GTS")),
    _Model("Lexus", "RX 350", "2T2", 49000, _OLDEST_YEAR, ("Base", "F Sport", "Luxury")),
    _Model("Lexus", "ES 350", "58A", 43000, _OLDEST_YEAR, ("Base", "Luxury", "Ultra Luxury")),
    _Model("Ram", "1500", "1C6", 42000, 2011, ("Tradesman", "Big Horn", "Laramie", "Limited")),
    _Model("GMC", "Sierra 1500", "3GT", 44000, _OLDEST_YEAR, ("SLE", "SLT", "AT4", "Denali")),
    _Model("Volvo", "XC90", "YV4", 56000, _OLDEST_YEAR, ("Core", "Plus", "Ultimate")),
)

_COLORS = (
    ("White", 24),
    ("Black", 20),
    ("Gray", 16),
    ("Silver", 13),
    ("Blue", 10),
    ("Red", 9),
    ("Green", 2),
    ("Brown", 2),
    ("Beige", 2),
    ("Orange", 1),
    ("Yellow", 1),
)
_FEATURES = (
    "backup camera",
    "heated front seats",
    "leather interior",
    "power moonroof",
    "Apple CarPlay and Android Auto",
    "adaptive cruise control",
    "blind-spot monitoring",
    "navigation",
    "remote start",
    "premium audio",
    "all-wheel drive",
    "tow package",
    "third-row seating",
    "new tires",
)
_HISTORY = (
    "One owner, clean title, full service records.",
    "Two owners, clean title, no accidents reported.",
    "Clean title; minor scratches on the rear bumper.",
    "Dealer-maintained; recent brake service.",
    "Garage kept, non-smoker.",
    "Clean title; small chip in the windshield.",
)


def _round(value: float, step: int) -> int:
    return max(step, round(value / step) * step)


def year_code(year: int) -> str:
    """The model-year character of VIN position 10 (a 30-year cycle starting at 1980 = A)."""
    return _YEAR_CODES[(year - 1980) % len(_YEAR_CODES)]


def _vin(rng: random.Random, model: _Model, year: int, serial: int) -> str:
    vds = "".join(rng.choice(_VIN_CHARS) for _ in range(5))
    plant = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ")
    return with_check_digit(f"{model.wmi}{vds}0{year_code(year)}{plant}{serial:06d}")


def _vehicle(rng: random.Random, index: int, now: datetime) -> DemoVehicle:
    model = rng.choice(_MODELS)
    year = rng.randint(model.since, _NEWEST_YEAR)
    age = max(now.year - year, 0)
    mileage = int(max(age, 0.3) * rng.uniform(7_000, 15_500))
    if rng.random() < 0.05:
        mileage = int(mileage * 0.3)  # the odd garage queen
    mileage = min(_round(mileage, 10), 260_000)
    color = rng.choices([c for c, _ in _COLORS], weights=[w for _, w in _COLORS])[0]
    trim = rng.choice(model.trims)
    depreciated = model.msrp * max(0.8 * 0.92 ** max(age - 1, 0), 0.12) if age else model.msrp
    value = depreciated * max(0.5, 1 - mileage / 400_000) * rng.uniform(0.9, 1.1)
    features = ", ".join(rng.sample(_FEATURES, 3))
    description = (
        f"{year} {model.make} {model.model} {trim} in {color.lower()} with "
        f"{mileage:,} miles. Equipped with {features}. {rng.choice(_HISTORY)}"
    )
    vin = _vin(rng, model, year, 100_000 + index * 7_919 % 900_000)
    photos: tuple[str, ...] = ()  # drawn by seed-demo's photo step (bidserver.demophotos)
    return DemoVehicle(
        vin=vin,
        make=model.make,
        model=model.model,
        year=year,
        mileage=mileage,
        color=color,
        description=description,
        photos=photos,
        value=max(_round(value, 100), 1500),
        created_at=now - timedelta(minutes=17 * (CATALOGUE_SIZE - index)),
    )


def catalogue(now: datetime, size: int = CATALOGUE_SIZE) -> list[DemoVehicle]:
    """`size` vehicles with distinct VINs; the same cars for every call (ages count from `now`)."""
    rng = random.Random(_SEED)
    return [_vehicle(rng, index, now) for index in range(size)]


def prices(rng: random.Random, value: int) -> tuple[int, int | None, int | None]:
    starting = _round(value * rng.uniform(0.35, 0.6), 100)
    reserve = _round(value * rng.uniform(0.8, 0.95), 250) if rng.random() < 0.75 else None
    reserve = None if reserve is None else max(reserve, starting)
    buy_now = _round(value * rng.uniform(1.1, 1.3), 500) if rng.random() < 0.6 else None
    buy_now = None if buy_now is None else max(buy_now, (reserve or starting) + 500)
    return starting, reserve, buy_now
