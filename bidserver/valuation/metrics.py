"""Prometheus metrics of the valuations (CONTRACT §1 `/metrics`, issue 14)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

VALUATIONS = Counter("bidserver_valuations_total", "Valuations served, by basis", ["basis"])
CACHE = Counter(
    "bidserver_valuation_cache_total",
    "Valuation cache lookups: `books` (fitted, per make/model), `sales` (kept prepared in "
    "memory, per make/model) and `provider` answers",
    ["cache", "result"],
)
BUILD_SECONDS = Histogram(
    "bidserver_valuation_build_seconds",
    "Fitting one make's or model's book from its prepared sales (a book cache miss)",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SLICE_SECONDS = Histogram(
    "bidserver_valuation_longest_slice_seconds",
    "The longest the event loop was held in one go by a build (it yields every millisecond)",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05),
)
PROVIDER_SECONDS = Histogram(
    "bidserver_pricing_provider_seconds",
    "External pricing provider calls, answered or not",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5),
)
PROVIDER_FAILURES = Counter(
    "bidserver_pricing_provider_failures_total",
    "Provider calls that gave no usable answer (timeout, unreachable, status, garbage) "
    "and calls skipped while its circuit breaker was open (open)",
    ["reason"],
)
FOLLOWING = Gauge(
    "bidserver_valuation_following_sales",
    "1 while closed sales are followed (cached valuations are kept), 0 while not",
)
