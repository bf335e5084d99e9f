"""The JSON shapes of the REST sidecar: vehicles, auctions, bid records and pages.

One function per object, so every route answers the same field names (camelCase, money as
integers, ISO-8601 `Z` times) and `httpapi/openapi.json` has one place to describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bidserver.auction import Snapshot, Status, increment
from bidserver.timefmt import to_iso
from bidserver.wire import snapshot_fields
from storage.catalog import Vehicle
from storage.listings import BidRecord, Listing

Json = dict[str, Any]


def page(
    items: Sequence[Json], page_no: int, limit: int, total: int, *, exact: bool = True
) -> Json:
    """CONTRACT §4: `total` is exact up to 10,000 matches, an estimate (flagged) above."""
    return {
        "items": list(items),
        "page": page_no,
        "limit": limit,
        "total": total,
        "totalExact": exact,
    }


def vehicle(v: Vehicle) -> Json:
    return {
        "id": v.id,
        "sellerId": v.seller_id,
        "vin": v.vin,
        "make": v.make,
        "model": v.model,
        "year": v.year,
        "mileage": v.mileage,
        "color": v.color,
        "description": v.description,
        "photos": list(v.photos),
        "createdAt": to_iso(v.created_at),
    }


def stored_snapshot(listing: Listing, now_ms: int) -> Snapshot:
    """The §3 snapshot as the stored projection tells it (no actor woken)."""
    status = Status(listing.status_at(now_ms))
    price = listing.current_price
    reserve = listing.reserve_price
    reserve_met = reserve is None or (price is not None and price >= reserve)
    if listing.buy_now_price is None or status is not Status.OPEN:
        buy_now = False
    elif reserve is None:
        buy_now = listing.bid_count == 0
    else:
        buy_now = not reserve_met
    return Snapshot(
        auction_id=listing.id,
        seq=listing.seq,
        status=status,
        current_price=price,
        bid_count=listing.bid_count,
        leader_alias=listing.leader_alias,
        minimum_next_bid=listing.starting_price if price is None else price + increment(price),
        reserve_met=reserve_met,
        buy_now_available=buy_now,
        starts_at=listing.starts_at,
        ends_at=listing.ends_at,
    )


def auction(
    listing: Listing,
    snapshot: Snapshot,
    *,
    show_reserve: bool,
    with_vehicle: Vehicle | None = None,
) -> Json:
    """An auction's terms plus its live fields; `reservePrice` only for its seller and admins."""
    body: Json = {
        "id": listing.id,
        "vehicleId": listing.vehicle_id,
        "sellerId": listing.seller_id,
        "startingPrice": listing.starting_price,
        "buyNowPrice": listing.buy_now_price,
        "antiSnipeSeconds": listing.anti_snipe_seconds,
        "maxExtensions": listing.max_extensions,
        "createdAt": to_iso(listing.created_at),
    }
    if show_reserve:
        body["reservePrice"] = listing.reserve_price
    body.update(snapshot_fields(snapshot))  # status, startsAt, endsAt, currentPrice, …
    if with_vehicle is not None:
        body["vehicle"] = vehicle(with_vehicle)
    return body


def bid_record(record: BidRecord, *, admin: bool) -> Json:
    body: Json = {
        "seq": record.seq,
        "amount": record.amount,
        "bidderAlias": record.bidder_alias,
        "at": to_iso(record.at),
        "kind": record.kind,
    }
    if admin:
        body["userId"] = record.bidder_id
    return body
