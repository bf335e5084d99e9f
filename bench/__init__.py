"""The load generator and benchmarks of `python -m bench` (CONTRACT §6; bench/README.md).

The harness starts the servers it measures (the actor engine, the row-lock baseline, a bare
WebSocket echo server) on a throwaway database, drives them from worker processes that each
run one uvloop event loop, and reports latency with coordinated omission corrected: every
request has an intended send time on a fixed schedule, and its latency is counted from then.
"""
