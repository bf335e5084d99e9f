"""The pure parts of the cluster: shard hash, rendezvous, lease arithmetic, settings."""

from __future__ import annotations

import random
import zlib
from collections import Counter

import pytest

from bidserver.cluster.lease import DRIFT, LeaseTiming
from bidserver.cluster.placement import LocalPlacement
from bidserver.cluster.secret import cluster_secret
from bidserver.cluster.shards import SHARDS, assignment, rendezvous, shard_of, shards_for
from bidserver.config import SettingError, load_settings

BASE = {"BIDSERVER_DATABASE_URL": "postgresql://x/y", "BIDSERVER_JWT_SECRET": "s" * 32}


def test_shard_of_is_crc32_of_the_id() -> None:
    """Fixed: a change here would move every auction of a running cluster."""
    assert all(0 <= shard_of(i) < SHARDS for i in range(-5, 5000))
    for i in (0, 1, 17, 123456789):
        assert shard_of(i) == zlib.crc32(i.to_bytes(8, "big", signed=True)) % 1024


def test_shards_spread_evenly_over_sequential_ids() -> None:
    counts = Counter(shard_of(i) for i in range(1, 102_401))
    assert len(counts) == SHARDS
    assert max(counts.values()) < 100 * 1.5


def test_rendezvous_is_deterministic_and_order_free() -> None:
    members = ["a", "b", "c"]
    for shard in range(64):
        assert rendezvous(shard, members) == rendezvous(shard, reversed(members))
    assert rendezvous(5, []) is None
    assert assignment([]) == {}


def test_rendezvous_balances_three_members() -> None:
    counts = Counter(assignment(["n1", "n2", "n3"]).values())
    assert set(counts) == {"n1", "n2", "n3"}
    assert all(abs(c - SHARDS / 3) < SHARDS / 3 * 0.2 for c in counts.values()), counts


def test_a_joining_member_takes_only_from_others_and_only_its_share() -> None:
    seed = random.randrange(2**32)
    print("seed", seed)
    rng = random.Random(seed)
    before = [f"node-{rng.randrange(10**6)}" for _ in range(3)]
    joiner = "node-joiner"
    old, new = assignment(before), assignment([*before, joiner])
    moved = {s for s in old if old[s] != new[s]}
    assert all(new[s] == joiner for s in moved), "only shards the joiner wins move"
    assert SHARDS / 4 * 0.7 < len(moved) < SHARDS / 4 * 1.3
    assert shards_for(joiner, [*before, joiner]) == moved


def test_a_leaving_member_moves_only_its_own_shards() -> None:
    members = ["x", "y", "z", "w"]
    old, new = assignment(members), assignment(["x", "y", "w"])
    assert {s for s in old if old[s] != new[s]} == {s for s in old if old[s] == "z"}


def test_lease_deadline_is_before_expiry_even_with_drift() -> None:
    timing = LeaseTiming(2000)
    sent = 100.0
    deadline = timing.deadline(sent)
    # Redis expires the lease no earlier than sent + lease as Redis counts, which is at least
    # sent + lease * (1 - DRIFT) on our clock.
    assert deadline < sent + 2.0 * (1 - DRIFT)
    assert deadline >= sent + 2.0 * (1 - DRIFT) - 0.25
    assert timing.valid(sent, deadline - 1e-6)
    assert not timing.valid(sent, deadline)
    assert timing.renew_every_s * 3 < deadline - sent, "three renewals may fail in a row"


def test_lease_is_measured_from_the_send_not_the_answer() -> None:
    """A renewal that took 1.5 s to come back leaves only what is left from its send."""
    timing = LeaseTiming(2000)
    clock = FakeClock(50.0)
    sent = clock.now
    clock.advance(1.5)  # the answer arrives late
    assert timing.valid(sent, clock.now)
    clock.advance(0.3)
    assert not timing.valid(sent, clock.now)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("lease_ms", [200, 500, 2000, 10_000, 600_000])
def test_lease_guard_keeps_a_positive_window(lease_ms: int) -> None:
    timing = LeaseTiming(lease_ms)
    assert 0 < timing.guard_s <= 0.25
    assert timing.deadline(0.0) > timing.renew_every_s * 2


def test_local_placement_owns_everything() -> None:
    placement = LocalPlacement("n1", ("127.0.0.1", 8766), lambda: 3)
    assert placement.owner_of(42) == "n1"
    assert placement.decides(42)
    assert placement.joined()
    assert placement.address_of("n1") == ("127.0.0.1", 8766)
    assert placement.address_of("n2") is None


def test_cluster_settings_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.cluster_port == 8766
    assert settings.lease_ms == 2000
    assert settings.advertise_host == "127.0.0.1"
    assert settings.cluster_secret is None
    assert settings.cluster_name == "bidserver"
    wild = load_settings({**BASE, "BIDSERVER_HOST": "0.0.0.0"})
    assert wild.advertise_host == "127.0.0.1"
    named = load_settings({**BASE, "BIDSERVER_HOST": "10.1.2.3"})
    assert named.advertise_host == "10.1.2.3"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BIDSERVER_LEASE_MS", "abc"),
        ("BIDSERVER_LEASE_MS", "50"),
        ("BIDSERVER_CLUSTER_PORT", "70000"),
        ("BIDSERVER_CLUSTER_SECRET", "short"),
        ("BIDSERVER_CLUSTER_NAME", "a b"),
    ],
)
def test_bad_cluster_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingError) as caught:
        load_settings({**BASE, name: value})
    assert str(caught.value).startswith(name)


def test_cluster_secret_is_derived_not_the_jwt_key() -> None:
    derived = cluster_secret(None, b"j" * 32)
    assert derived != b"j" * 32
    assert len(derived) == 64
    assert derived == cluster_secret(None, b"j" * 32)
    assert cluster_secret(b"k" * 32, b"j" * 32) == b"k" * 32
