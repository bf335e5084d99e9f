"""Prometheus metrics of the node links and of routed commands (CONTRACT §7)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

LINK_RECONNECTS = Counter(
    "bidserver_cluster_link_reconnects_total", "Node links dialled again after they were lost"
)
LINK_REFUSED = Counter(
    "bidserver_cluster_link_refused_total",
    "Connections to the cluster port closed before or during the handshake",
)
ROUTED = Counter(
    "bidserver_cluster_routed_commands_total",
    "Commands sent to the owning node over a link, by result code",
    ["result"],
)
ROUTED_SECONDS = Histogram(
    "bidserver_cluster_routed_seconds",
    "From a command leaving for its owner to its answer coming back",
    buckets=_LATENCY_BUCKETS,
)
