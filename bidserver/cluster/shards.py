"""Auctions to shards, shards to members: pure and stable across processes and versions.

An auction's shard is the CRC-32 of its id's 8 big-endian bytes modulo `SHARDS` (Python's
`hash` is salted per process for strings and differs between builds; CRC-32 is not). A
shard goes to the live member with the highest rendezvous weight (BLAKE2b of member and
shard): a member joining or leaving moves only the shards it wins or held, about 1/n each.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable

SHARDS = 1024


def shard_of(auction_id: int) -> int:
    return zlib.crc32(auction_id.to_bytes(8, "big", signed=True)) % SHARDS


def weight(member: str, shard: int) -> int:
    digest = hashlib.blake2b(f"{member}\x00{shard}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rendezvous(shard: int, members: Iterable[str]) -> str | None:
    """The member that should hold the shard; ties (never in practice) go to the lower id."""
    best: tuple[int, str] | None = None
    for member in members:
        key = (weight(member, shard), member)
        if best is None or key[0] > best[0] or (key[0] == best[0] and member < best[1]):
            best = key
    return None if best is None else best[1]


def assignment(members: Iterable[str]) -> dict[int, str]:
    """Every shard's preferred member; empty when there are no members."""
    live = sorted(set(members))
    if not live:
        return {}
    return {shard: rendezvous(shard, live) or live[0] for shard in range(SHARDS)}


def shards_for(member: str, members: Iterable[str]) -> set[int]:
    return {shard for shard, owner in assignment(members).items() if owner == member}
