"""Prometheus metrics of the engine (CONTRACT §1: `/metrics` on every port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

CONNECTIONS = Gauge("bidserver_ws_connections", "Open WebSocket connections")
SUBSCRIPTIONS = Gauge("bidserver_ws_subscriptions", "Auction subscriptions held by connections")
LIVE_ACTORS = Gauge("bidserver_live_actors", "Auction actors in memory")
BIDS = Counter("bidserver_bids_total", "Bid commands by result code", ["result"])
BID_ACK_SECONDS = Histogram(
    "bidserver_bid_ack_seconds",
    "From a bid reaching its actor to its answer being released",
    buckets=_LATENCY_BUCKETS,
)
PERSIST_BATCH_EVENTS = Histogram(
    "bidserver_persist_batch_events",
    "Events written per persister transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
PERSIST_SECONDS = Histogram(
    "bidserver_persist_batch_seconds", "Persister transaction latency", buckets=_LATENCY_BUCKETS
)
PERSIST_FAILURES = Counter("bidserver_persist_failures_total", "Failed persister transactions")
PERSIST_FENCED = Counter(
    "bidserver_persist_fenced_total",
    "Auction writes refused by the epoch fence: another node took the auction over",
)
PERSIST_QUEUE = Gauge("bidserver_persist_queue_events", "Events waiting for the persister")
SLOW_CONSUMERS = Counter(
    "bidserver_slow_consumer_disconnects_total", "Connections cut off for not reading"
)
RATE_LIMITED = Counter("bidserver_ws_rate_limited_total", "Messages refused by the rate limit")


_BID_RESULTS: dict[str, Counter] = {}


def count_bid(result: str) -> None:
    """`BIDS.labels(...)` resolves the child on every call; bids are the hot path, so cache it."""
    child = _BID_RESULTS.get(result)
    if child is None:
        child = _BID_RESULTS[result] = BIDS.labels(result=result)
    child.inc()


CLUSTER_SHARDS = Gauge("bidserver_cluster_shards_owned", "Shards whose lease this node holds")
LEASE_RENEW_SECONDS = Histogram(
    "bidserver_cluster_lease_renew_seconds",
    "From sending a heartbeat-and-renew pipeline to Redis to its answer",
    buckets=_LATENCY_BUCKETS,
)
CLUSTER_RENEW_FAILURES = Counter(
    "bidserver_cluster_renew_failures_total", "Membership and lease passes that failed"
)
LEASES_LOST = Counter(
    "bidserver_cluster_leases_lost_total",
    "Shards dropped because their lease could not be renewed in time or was taken",
)
HANDOFFS = Counter(
    "bidserver_cluster_handoffs_total", "Shards handed to another node (flushed, then released)"
)
ACTORS_FENCED = Counter(
    "bidserver_cluster_actors_fenced_total",
    "Live auctions dropped on their first batch refused by the epoch fence",
)
